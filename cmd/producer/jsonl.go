package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineReader reads JSONL one line at a time with a cap on line length, so a
// corrupt file (one giant line) costs at most max bytes of memory and is
// reported as one bad line rather than ending the run.
type lineReader struct {
	r     *bufio.Reader
	max   int
	buf   []byte
	num   int   // number of the line last returned, from 1
	bytes int64 // bytes consumed so far, for progress
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// errLineTooLong is returned by next for a line over the cap; reading can
// continue with the following line.
var errLineTooLong = errors.New("line too long")

// next returns the next line without its line ending. The slice is reused by
// the following call. At the end it returns io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.bytes += int64(len(chunk))
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+2 { // +2: the line ending
				tooLong, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(lr.buf) == 0 && !tooLong && len(chunk) == 0:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, err
		}
		lr.num++
		if tooLong {
			return nil, fmt.Errorf("%w: more than %d bytes", errLineTooLong, lr.max)
		}
		return bytes.TrimRight(lr.buf, "\r\n"), nil
	}
}

// readAllLimited reads r up to max bytes; more is an error.
func readAllLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than %d bytes", max)
	}
	return data, nil
}
