package orders

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
)

// MaxFileSize is the largest payment order file LoadFile reads, in bytes.
// One account rarely has more than a few dozen orders, each under 2 KiB.
const MaxFileSize = 8 << 20

// sniffSize is how much of a file IsOrderFile reads before deciding.
const sniffSize = 64 << 10

// IsOrderFile reports whether the file at path is an OBIE envelope of
// direct debits, standing orders or scheduled payments: its first JSON
// value is an object whose Data object's first member is one of those
// resources. The decision reads JSON tokens from at most the first 64 KiB,
// so the size of a transaction file does not matter, and resource names
// inside values (a BankTransactionCode SubCode "StandingOrder", say) do not
// count. A file whose head is not such an envelope, NDJSON included, is not
// an order file, and the transaction loader reports what is wrong with it.
func IsOrderFile(path string) (bool, error) {
	// Reading a directory fails with an unclear error, and opening a named
	// pipe blocks until a writer opens it. The loaders read a file twice,
	// so a pipe could not be loaded anyway.
	info, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	switch {
	case info.IsDir():
		return false, fmt.Errorf("%s is a directory: name the feed files in it", path)
	case !info.Mode().IsRegular():
		return false, fmt.Errorf("%s is not a regular file: save the feed to a file first", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, err // the *PathError names the operation and path
	}
	if firstDataMember(head[:n]) == "" {
		return false, nil
	}
	data, err := readLimited(path)
	if err != nil {
		return false, err
	}
	return obie.OrderResource(data) != "", nil
}

// firstDataMember returns the first member name of the Data object of the
// JSON object that head starts with, when it is an order resource, and ""
// otherwise: for other names, for a first value that has no Data object,
// and for a head that ends or is not valid JSON before the member is read.
func firstDataMember(head []byte) string {
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key != "Data" {
			if skipValue(dec) != nil {
				return ""
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') || !dec.More() {
			return ""
		}
		member, err := dec.Token()
		if err != nil {
			return ""
		}
		for _, name := range obie.OrderResources {
			if member == name {
				return name
			}
		}
		return ""
	}
	return ""
}

// skipValue reads past the next JSON value of dec, one token at a time.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// FileResult reports one payment order file.
type FileResult struct {
	Kind     string
	Orders   int
	Accounts int // accounts whose orders of Kind the file replaced
	// Unchanged counts the accounts whose current orders already matched.
	Unchanged int
}

// LoadFile validates an OBIE envelope of direct debits, standing orders or
// scheduled payments (as GET /accounts/{AccountId}/standing-orders returns
// it) and stores, for each account it covers, its orders as the current
// snapshot. The accounts covered are those of its records, and the account
// in its Links.Self path, so that an empty list of an account's orders can
// replace the stored one.
//
// A file with any problem stores nothing: the error then wraps an
// *obie.ErrorList locating every problem. A file that covers several
// accounts is stored account by account, so a failure of storage part way
// leaves the accounts before it replaced.
func LoadFile(ctx context.Context, engine store.Engine, customerID, path string, now time.Time) (FileResult, error) {
	var res FileResult
	if customerID == "" {
		return res, fmt.Errorf("load %s: customer ID is empty", path)
	}
	data, err := readLimited(path)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	resource := obie.OrderResource(data)
	dec := obie.Decoder{Local: obie.London, Now: func() time.Time { return now }}
	recs, err := dec.DecodeOrders(path, resource, data)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}

	res.Kind = KindOfResource(resource)
	list := FromOBIE(customerID, recs, obie.London)
	var accounts []string
	if id := selfAccount(data); id != "" {
		accounts = append(accounts, id)
		for i, o := range list {
			if o.AccountID != id {
				return res, fmt.Errorf("load %s: $.Data.%s[%d].AccountId: names another account than Links.Self", path, resource, i)
			}
		}
	}
	snapshots := Group(customerID, path, res.Kind, accounts, list)
	if len(snapshots) == 0 {
		return res, fmt.Errorf("load %s: $.Data.%s is empty and Links.Self names no account, so the file replaces nothing", path, resource)
	}
	for _, s := range snapshots {
		stored, err := Write(ctx, engine, s, now)
		if err != nil {
			return res, fmt.Errorf("load %s: %w", path, err)
		}
		res.Accounts++
		res.Orders += len(s.Orders)
		if !stored {
			res.Unchanged++
		}
	}
	return res, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("file larger than %d bytes, the limit for a payment order file", MaxFileSize)
	}
	return data, nil
}

// selfAccount returns the AccountId in a Links.Self of the form
// .../accounts/{AccountId}/<resource>, or "".
func selfAccount(data []byte) string {
	var env struct {
		Links struct {
			Self string `json:"Self"`
		} `json:"Links"`
	}
	if json.Unmarshal(data, &env) != nil || env.Links.Self == "" {
		return ""
	}
	u, err := url.Parse(env.Links.Self)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "accounts" && KindOfResource(parts[i+2]) != "" {
			id, err := url.PathUnescape(parts[i+1])
			if err != nil {
				return ""
			}
			return id
		}
	}
	return ""
}
