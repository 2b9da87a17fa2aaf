package aspsp

import (
	"bytes"
	"encoding/json"
	"errors"

	gojson "github.com/goccy/go-json"
)

// envelope is the part of an OBIE response that paging needs. Data is not
// kept: paging only needs to know that it is there and whether it holds
// anything, and the sink decodes the records from the page's body.
type envelope struct {
	Data  pageData `json:"Data"`
	Links struct {
		Self string `json:"Self"`
		Next string `json:"Next"`
	} `json:"Links"`
}

// pageData records what the envelope check learns of the Data member
// without copying or decoding its records.
type pageData struct {
	seen int // times Data appears in the envelope
	// none is true when the last Data seen is null or an object with no
	// member.
	none bool
}

// UnmarshalJSON implements json.Unmarshaler. The decoder checks that the
// whole body is well-formed JSON, so b is one valid JSON value.
func (d *pageData) UnmarshalJSON(b []byte) error {
	d.seen++
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		d.none = true
	case len(b) >= 2 && b[0] == '{':
		d.none = len(bytes.TrimSpace(b[1:len(b)-1])) == 0
	default:
		d.none = false
	}
	return nil
}

// empty reports whether Data appears once and holds no record. A body
// that repeats Data is left to the record decoder to reject.
func (d *pageData) empty() bool { return d.seen == 1 && d.none }

var errNoData = errors.New("no Data member")

// readEnvelope reads the envelope of a page body with goccy/go-json, the
// decoder obie uses for records. When goccy/go-json fails, encoding/json
// reads the body again, so no page that encoding/json accepts is rejected;
// TestReadEnvelope checks that both reject the same malformed bodies.
func readEnvelope(body []byte) (*envelope, error) {
	env := &envelope{}
	if err := gojson.Unmarshal(body, env); err != nil {
		*env = envelope{}
		if err := json.Unmarshal(body, env); err != nil {
			return nil, err
		}
	}
	if env.Data.seen == 0 {
		return nil, errNoData
	}
	return env, nil
}
