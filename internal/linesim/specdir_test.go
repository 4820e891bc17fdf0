package linesim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindOpenAPIDir(t *testing.T) {
	t.Setenv(OpenAPIDirEnv, "")
	root := t.TempDir()
	beside := filepath.Join(root, "shared", "line-openapi") // CI: <clone>/../shared
	pkg := filepath.Join(root, "clone", "internal", "linesim")
	for _, d := range []string{beside, pkg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Only the tree under root is empty: the directories above it (the
	// system temp dir) are not the test's to control.
	if got, err := FindOpenAPIDir(pkg); err == nil && strings.HasPrefix(got, root) {
		t.Fatal("found specs in an empty tree")
	}
	if err := os.WriteFile(filepath.Join(beside, "messaging-api.yml"), []byte("openapi: 3.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindOpenAPIDir(pkg); err != nil || got != beside {
		t.Fatalf("beside the clone: %q, %v", got, err)
	}
	inside := filepath.Join(root, "clone", "shared", "line-openapi") // shared/ inside the repository wins
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inside, "messaging-api.yml"), []byte("openapi: 3.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindOpenAPIDir(pkg); err != nil || got != inside {
		t.Fatalf("inside the clone: %q, %v", got, err)
	}
	t.Setenv(OpenAPIDirEnv, beside)
	if got, err := FindOpenAPIDir(pkg); err != nil || got != beside {
		t.Fatalf("from the environment: %q, %v", got, err)
	}
	t.Setenv(OpenAPIDirEnv, root)
	if _, err := FindOpenAPIDir(pkg); err == nil {
		t.Fatal("accepted an env dir without specs")
	}
}
