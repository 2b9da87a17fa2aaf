package chdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// rows reads JSONCompactEachRow output: one JSON array per line. ClickHouse
// quotes 64-bit integers in JSON by default, so integers arrive as numbers
// or strings and Scan accepts both.
type rows struct {
	data []byte
	cur  []json.RawMessage
	err  error
}

func newRows(data []byte) *rows { return &rows{data: data} }

func (r *rows) Next() bool {
	for r.err == nil && len(r.data) > 0 {
		line, rest, _ := bytes.Cut(r.data, []byte{'\n'})
		r.data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r.cur = r.cur[:0]
		if err := json.Unmarshal(line, &r.cur); err != nil {
			r.err = fmt.Errorf("decode chDB row: %w", err)
			return false
		}
		return true
	}
	return false
}

func (r *rows) Scan(dest ...any) error {
	if len(dest) != len(r.cur) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(r.cur))
	}
	for i, d := range dest {
		if err := scanValue(r.cur[i], d); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}

func (r *rows) Err() error   { return r.err }
func (r *rows) Close() error { r.data = nil; return nil }

func scanValue(raw json.RawMessage, dest any) error {
	if bytes.Equal(raw, []byte("null")) {
		return errors.New("NULL value; select a non-Nullable expression (ifNull, toString)")
	}
	switch d := dest.(type) {
	case *string:
		return json.Unmarshal(raw, d)
	case *bool:
		return json.Unmarshal(raw, d)
	case *float64:
		return json.Unmarshal(raw, d)
	case *int64:
		s := unquote(raw)
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an Int64: %s", s)
		}
		*d = v
		return nil
	case *uint64:
		s := unquote(raw)
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a UInt64: %s", s)
		}
		*d = v
		return nil
	case *[]string:
		return json.Unmarshal(raw, d)
	}
	return fmt.Errorf("unsupported destination %T", dest)
}

func unquote(raw json.RawMessage) string {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
