package linesim

import (
	"errors"
	"os"
	"path/filepath"
)

// OpenAPIDirEnv names the environment variable that points at LINE's OpenAPI
// specs (the directory holding messaging-api.yml).
const OpenAPIDirEnv = "LINEDISPATCH_OPENAPI_DIR"

// FindOpenAPIDir locates LINE's OpenAPI specs: $LINEDISPATCH_OPENAPI_DIR if
// set, else the first "shared/line-openapi" found walking up from start
// (which finds both <repo>/shared/line-openapi and <repo>/../shared/line-openapi,
// the layout CI uses).
func FindOpenAPIDir(start string) (string, error) {
	if d := os.Getenv(OpenAPIDirEnv); d != "" {
		if isSpecDir(d) {
			return d, nil
		}
		return "", errors.New(OpenAPIDirEnv + "=" + d + " holds no messaging-api.yml")
	}
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if c := filepath.Join(dir, "shared", "line-openapi"); isSpecDir(c) {
			return c, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("LINE's OpenAPI specs not found: set " + OpenAPIDirEnv +
				" or put shared/line-openapi in the repository or beside it")
		}
		dir = parent
	}
}

func isSpecDir(d string) bool {
	st, err := os.Stat(filepath.Join(d, "messaging-api.yml"))
	return err == nil && !st.IsDir()
}
