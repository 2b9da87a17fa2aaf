package obie

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Seeds larger than this are cut: the fuzzer mutates small inputs faster,
// and the first records of a file hold every shape the rest repeat.
const maxSeedBytes = 32 << 10

var fuzzDecoder = Decoder{Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }}

// seedFiles returns the paths under the repository's testdata that end in
// ext, walking both the published OBIE examples and the demo feed.
func seedFiles(f *testing.F, ext string) []string {
	f.Helper()
	var paths []string
	for _, root := range []string{"../../testdata/obie", "../../testdata/sample"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ext) {
				paths = append(paths, path)
			}
			return err
		})
		if err != nil {
			f.Fatalf("walk %s: %v", root, err)
		}
	}
	if len(paths) == 0 {
		f.Fatalf("no %s seed files under testdata", ext)
	}
	return paths
}

// seedLines returns up to n non-blank lines of the NDJSON file at path.
func seedLines(f *testing.F, path string, n int) [][]byte {
	f.Helper()
	file, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var lines [][]byte
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() && len(lines) < n {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		f.Fatalf("read %s: %v", path, err)
	}
	return lines
}

// checkErrorList fails the test unless err is an *ErrorList whose every
// problem is located by a JSON path or a line.
func checkErrorList(t *testing.T, input []byte, err error) {
	t.Helper()
	var list *ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %T %v is not an *ErrorList", err, err)
	}
	if len(list.Errors) == 0 {
		t.Fatalf("empty ErrorList returned as an error for %q", input)
	}
	for _, e := range list.Errors {
		if e.Path == "" && e.Line == 0 {
			t.Errorf("problem %q names neither a JSON path nor a line", e.Error())
		}
		if e.Path != "" && !strings.HasPrefix(e.Path, "$") {
			t.Errorf("problem path %q does not start at $", e.Path)
		}
		if e.Reason == "" {
			t.Errorf("problem at %s has no reason", e.Path)
		}
	}
}

// envelopeOf encodes the records of p as one response envelope.
func envelopeOf(t *testing.T, p *Payload) []byte {
	t.Helper()
	data := map[string]any{}
	if len(p.Accounts) > 0 {
		data[ResourceAccount] = p.Accounts
	}
	if len(p.Balances) > 0 {
		data[ResourceBalance] = p.Balances
	}
	if len(p.Transactions) > 0 {
		data[ResourceTransaction] = p.Transactions
	}
	if len(p.Parties) > 0 {
		data[ResourceParty] = p.Parties
	}
	b, err := json.Marshal(map[string]any{"Data": data})
	if err != nil {
		t.Fatalf("encode accepted payload: %v", err)
	}
	return b
}

// ndjsonOf encodes the records of p as NDJSON, one record a line.
func ndjsonOf(t *testing.T, p *Payload) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	write := func(name string, rec any) {
		if err := enc.Encode(map[string]any{name: rec}); err != nil {
			t.Fatalf("encode accepted %s: %v", name, err)
		}
	}
	for _, r := range p.Accounts {
		write(ResourceAccount, r)
	}
	for _, r := range p.Balances {
		write(ResourceBalance, r)
	}
	for _, r := range p.Transactions {
		write(ResourceTransaction, r)
	}
	for _, r := range p.Parties {
		write(ResourceParty, r)
	}
	return b.Bytes()
}

func isEmpty(p *Payload) bool {
	return len(p.Accounts)+len(p.Balances)+len(p.Transactions)+len(p.Parties) == 0
}

// FuzzDecodeEnvelope checks that any input either decodes or fails with
// located problems, and that an accepted envelope encodes back to one
// that decodes to the same records.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, path := range seedFiles(f, ".json") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= maxSeedBytes {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"Data":{"Transaction":[]}}`))
	f.Add([]byte(`{"Data":null}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := fuzzDecoder.DecodeEnvelope("fuzz.json", data)
		if err != nil {
			if p != nil {
				t.Errorf("rejected envelope also returned a payload")
			}
			checkErrorList(t, data, err)
			return
		}
		if p == nil {
			t.Fatal("nil payload without an error")
		}
		if isEmpty(p) {
			return // an envelope of empty arrays encodes back to one with none
		}

		again, err := fuzzDecoder.DecodeEnvelope("again.json", envelopeOf(t, p))
		if err != nil {
			t.Fatalf("re-encoded accepted envelope is rejected: %v", err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Errorf("round trip changed the records:\n first %+v\nsecond %+v", p, again)
		}
	})
}

// FuzzDecodeNDJSON checks the line decoder: located problems for a rejected
// line, the same result on the fast goccy/go-json path and the
// encoding/json path, and a round trip of accepted lines.
func FuzzDecodeNDJSON(f *testing.F) {
	for _, path := range seedFiles(f, ".ndjson") {
		lines := seedLines(f, path, 8)
		for _, line := range lines {
			f.Add(line)
		}
		f.Add(bytes.Join(lines, []byte("\n")))
	}
	f.Add([]byte(`{"Transaction":{"AccountId":"a"},"Balance":{}}`))
	f.Add([]byte("\r\n\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := fuzzDecoder.DecodeNDJSON("fuzz.ndjson", data)

		fastLines = false
		slow, slowErr := fuzzDecoder.DecodeNDJSON("fuzz.ndjson", data)
		fastLines = true
		if (err == nil) != (slowErr == nil) {
			t.Fatalf("fast path error %v, encoding/json path error %v", err, slowErr)
		}
		if err != nil {
			checkErrorList(t, data, err)
			return
		}
		if !reflect.DeepEqual(records(p), records(slow)) {
			t.Fatalf("fast path decoded\n%+v\nencoding/json path decoded\n%+v", p, slow)
		}

		again, err := fuzzDecoder.DecodeNDJSON("again.ndjson", ndjsonOf(t, p))
		if err != nil {
			t.Fatalf("re-encoded accepted lines are rejected: %v", err)
		}
		if !reflect.DeepEqual(records(p), records(again)) {
			t.Errorf("round trip changed the records:\n first %+v\nsecond %+v", p, again)
		}
	})
}
