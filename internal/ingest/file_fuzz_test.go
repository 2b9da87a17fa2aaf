package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

// FuzzDecodeLines checks the streaming NDJSON reader of LoadFile against
// the whole-file decoder: both accept or reject the same input, report the
// same problems, and the streamed chunks hold the same records in order.
func FuzzDecodeLines(f *testing.F) {
	paths, err := filepath.Glob("../../testdata/sample/*/transactions.ndjson")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no NDJSON seed files under testdata/sample: %v", err)
	}
	for _, path := range paths {
		file, err := os.Open(path)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		sc.Buffer(make([]byte, 0, 64<<10), MaxLineSize)
		var lines [][]byte
		for sc.Scan() && len(lines) < 6 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
		file.Close()
		f.Add(bytes.Join(lines, []byte("\n")))
	}
	f.Add([]byte(validLine + "\r\n\r\n" + validLine))
	f.Add([]byte(badLine(`"1.00"`, `"1,00"`) + "\n" + validLine))

	dec := obie.Decoder{Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := dec.DecodeNDJSON("fuzz.ndjson", data)

		lines := dec.NewLineDecoder("fuzz.ndjson")
		decoded := make(chan *chunk, 1)
		free := make(chan *chunk, 2)
		free <- &chunk{}
		free <- &chunk{}
		got := &obie.Payload{}
		done := make(chan error, 1)
		go func() {
			defer close(decoded)
			done <- decodeLines(bytes.NewReader(data), "fuzz.ndjson", lines, decoded, free, make(chan struct{}))
		}()
		for c := range decoded {
			got.Accounts = append(got.Accounts, c.Accounts...)
			got.Balances = append(got.Balances, c.Balances...)
			got.Transactions = append(got.Transactions, c.Transactions...)
			got.Parties = append(got.Parties, c.Parties...)
			*c = chunk{}
			free <- c
		}
		if err := <-done; err != nil {
			t.Fatalf("decodeLines: %v", err)
		}

		gotErr := lines.Errors.Err()
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("streaming reader error\n%v\nwhole-file decoder error\n%v", gotErr, wantErr)
		}
		if wantErr != nil {
			return
		}
		if !reflect.DeepEqual(withNilSlices(got), withNilSlices(want)) {
			t.Errorf("streaming reader records\n%+v\nwhole-file decoder records\n%+v", got, want)
		}
	})
}

// withNilSlices returns the records of p, with empty and nil record
// slices made to compare equal. Memory that only a reused Payload keeps
// is left out.
func withNilSlices(p *obie.Payload) obie.Payload {
	out := obie.Payload{Accounts: p.Accounts, Balances: p.Balances, Transactions: p.Transactions, Parties: p.Parties}
	if len(out.Accounts) == 0 {
		out.Accounts = nil
	}
	if len(out.Balances) == 0 {
		out.Balances = nil
	}
	if len(out.Transactions) == 0 {
		out.Transactions = nil
	}
	if len(out.Parties) == 0 {
		out.Parties = nil
	}
	return out
}
