package obie

import "strconv"

// jsonPath is the JSON path of a value, such as
// $.Data.Transaction[3].Amount.Amount, kept as a chain of steps on the
// validators' stacks and formatted only when a problem is reported there.
// Formatting the path of every field of every record, valid or not, cost
// about 0.6 s of CPU per million transactions.
//
// A jsonPath returned by key or elem points to the one it was called on,
// so it is valid only while that one is: validators pass paths down to
// the checks they call and never keep them.
type jsonPath struct {
	parent *jsonPath
	// name is the step after parent, such as "$.Transaction", ".Amount" or
	// ".Balance.Amount". An array index follows it when index is not
	// negative.
	name  string
	index int
}

// pathOf returns the path formatted as s, such as "$" or "$.Data".
func pathOf(s string) jsonPath { return jsonPath{name: s, index: -1} }

// elemPath returns the path of element i of the array at s, such as
// $.Data.Transaction[3].
func elemPath(s string, i int) jsonPath { return jsonPath{name: s, index: i} }

// key returns the path of the member name (".Amount", or several members
// such as ".Balance.Amount") of the value at p.
func (p *jsonPath) key(name string) jsonPath {
	return jsonPath{parent: p, name: name, index: -1}
}

// elem returns the path of element i of the array member name (such as
// ".CreditLine") of the value at p.
func (p *jsonPath) elem(name string, i int) jsonPath {
	return jsonPath{parent: p, name: name, index: i}
}

// String formats p, such as $.Data.Transaction[3].Amount.Amount.
func (p jsonPath) String() string {
	var buf [128]byte
	return string(appendPath(buf[:0], &p))
}

func appendPath(b []byte, p *jsonPath) []byte {
	if p.parent != nil {
		b = appendPath(b, p.parent)
	}
	b = append(b, p.name...)
	if p.index >= 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(p.index), 10)
		b = append(b, ']')
	}
	return b
}
