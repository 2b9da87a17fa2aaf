package attest

import (
	"encoding/json"
	"fmt"
)

// sdDisclosure is one decoded disclosure of a presentation.
type sdDisclosure struct {
	index   int // position in the presentation, for error messages
	name    string
	isArray bool // a two-element disclosure of an array element
	value   any

	used  bool // reached through a digest of the payload
	depth int  // nesting depth of the object it was inserted into, 0 for the payload
}

// digestWalk is the state of one walk over a payload: the disclosures by
// digest and every digest met so far.
type digestWalk struct {
	byDigest map[string]*sdDisclosure
	seen     map[string]bool
}

// processDisclosures decodes the disclosures, replaces their digests in
// payload (RFC 9901 section 7.1 step 3) and sets v.Claims and v.Disclosed.
func processDisclosures(v *VerifiedSDJWT, payload []byte, disclosures []string) error {
	walk := digestWalk{byDigest: make(map[string]*sdDisclosure, len(disclosures)), seen: map[string]bool{}}
	for n, encoded := range disclosures {
		d, err := decodeDisclosure(n, encoded)
		if err != nil {
			return err
		}
		digest := disclosureDigest(encoded)
		if earlier, dup := walk.byDigest[digest]; dup {
			return fmt.Errorf("%w: disclosures %d and %d have the same digest", ErrDisclosure, earlier.index, n)
		}
		walk.byDigest[digest] = d
	}

	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	delete(claims, claimDigestAlg)
	processed, err := walk.object(claims, "$", 0)
	if err != nil {
		return err
	}

	// RFC 9901 section 7.1 step 5: every disclosure must be reached through
	// a digest of the token, so an added or altered disclosure is rejected,
	// not ignored.
	v.Disclosed = map[string]any{}
	for _, d := range walk.byDigest {
		if !d.used {
			return fmt.Errorf("%w: disclosure %d matches no digest of the token", ErrDisclosure, d.index)
		}
		if !d.isArray && d.depth == 0 {
			v.Disclosed[d.name] = processed[d.name]
		}
	}
	v.Claims = processed
	return nil
}

// decodeDisclosure decodes disclosure n: base64url without padding of a
// JSON array [salt, name, value] or, for an array element, [salt, value]
// (RFC 9901 section 4.2). Padding is rejected because the digest covers
// the encoded text, so one disclosure must have one encoding.
func decodeDisclosure(n int, encoded string) (*sdDisclosure, error) {
	data, err := decodeSegment(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: disclosure %d: %v", ErrMalformed, n, err)
	}
	var elements []json.RawMessage
	if err := json.Unmarshal(data, &elements); err != nil {
		return nil, fmt.Errorf("%w: disclosure %d is not a JSON array", ErrMalformed, n)
	}
	if len(elements) != 2 && len(elements) != 3 {
		return nil, fmt.Errorf("%w: disclosure %d has %d elements; want 3, or 2 for an array element", ErrMalformed, n, len(elements))
	}

	var salt string
	if err := json.Unmarshal(elements[0], &salt); err != nil || salt == "" {
		return nil, fmt.Errorf("%w: disclosure %d: the salt is not a non-empty string", ErrMalformed, n)
	}
	d := &sdDisclosure{index: n, isArray: len(elements) == 2}
	if !d.isArray {
		if err := json.Unmarshal(elements[1], &d.name); err != nil {
			return nil, fmt.Errorf("%w: disclosure %d: the claim name is not a string", ErrMalformed, n)
		}
	}
	if err := json.Unmarshal(elements[len(elements)-1], &d.value); err != nil {
		return nil, fmt.Errorf("%w: disclosure %d: invalid claim value: %v", ErrMalformed, n, err)
	}
	return d, nil
}

// value returns v with its digests replaced, walking into objects and arrays.
func (w *digestWalk) value(v any, path string, depth int) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		return w.object(t, path, depth)
	case []any:
		return w.array(t, path, depth)
	}
	return v, nil
}

// object returns obj without "_sd", with the plain members processed and
// a member added for each disclosure whose digest "_sd" lists. Digests no
// disclosure matches are decoys or undisclosed claims, and are dropped.
func (w *digestWalk) object(obj map[string]any, path string, depth int) (map[string]any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: %s is nested deeper than %d levels", ErrMalformed, path, maxNesting)
	}
	out := make(map[string]any, len(obj))
	for name, member := range obj {
		if name == claimDigests {
			continue
		}
		processed, err := w.value(member, path+"."+name, depth+1)
		if err != nil {
			return nil, err
		}
		out[name] = processed
	}

	raw, ok := obj[claimDigests]
	if !ok {
		return out, nil
	}
	digests, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s._sd is not an array", ErrMalformed, path)
	}
	for n, item := range digests {
		digest, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s._sd[%d] is not a string", ErrMalformed, path, n)
		}
		d, err := w.lookUp(digest, fmt.Sprintf("%s._sd[%d]", path, n))
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue
		}
		if err := checkDisclosedName(d, out, path, depth); err != nil {
			return nil, err
		}
		d.used, d.depth = true, depth
		if out[d.name], err = w.value(d.value, path+"."+d.name, depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkDisclosedName applies RFC 9901 section 7.1 step 3 to an object
// property disclosure: its name must not be "_sd" or "...", nor a member
// the object already has. At the top level, reservedClaims also applies.
func checkDisclosedName(d *sdDisclosure, out map[string]any, path string, depth int) error {
	if d.isArray {
		return fmt.Errorf("%w: disclosure %d is an array element, but its digest is in %s._sd", ErrDisclosure, d.index, path)
	}
	if d.name == claimDigests || d.name == arrayDigestKey || (depth == 0 && reservedClaims[d.name]) {
		return fmt.Errorf("%w: disclosure %d has the reserved claim name %q", ErrDisclosure, d.index, d.name)
	}
	if _, exists := out[d.name]; exists {
		return fmt.Errorf("%w: disclosure %d would replace the claim %s.%s", ErrDisclosure, d.index, path, d.name)
	}
	return nil
}

// array returns arr with each {"...": digest} element replaced by the
// value of its disclosure, or removed when none matches.
func (w *digestWalk) array(arr []any, path string, depth int) ([]any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: %s is nested deeper than %d levels", ErrMalformed, path, maxNesting)
	}
	out := make([]any, 0, len(arr))
	for n, element := range arr {
		elementPath := fmt.Sprintf("%s[%d]", path, n)
		digest, isDigest, err := arrayElementDigest(element, elementPath)
		if err != nil {
			return nil, err
		}
		if !isDigest {
			processed, err := w.value(element, elementPath, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, processed)
			continue
		}

		d, err := w.lookUp(digest, elementPath)
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue
		}
		if !d.isArray {
			return nil, fmt.Errorf("%w: disclosure %d names claim %q, but its digest is the array element %s", ErrDisclosure, d.index, d.name, elementPath)
		}
		d.used, d.depth = true, depth
		processed, err := w.value(d.value, elementPath, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, processed)
	}
	return out, nil
}

// lookUp records digest as seen and returns its disclosure, or nil when
// none matches. RFC 9901 section 7.1 step 4 rejects a digest that occurs
// more than once in the payload and the disclosed values together.
func (w *digestWalk) lookUp(digest, path string) (*sdDisclosure, error) {
	if w.seen[digest] {
		return nil, fmt.Errorf("%w: the digest at %s occurs more than once", ErrDisclosure, path)
	}
	w.seen[digest] = true
	return w.byDigest[digest], nil
}

// arrayElementDigest returns the digest of an array element of the form
// {"...": digest} (RFC 9901 section 4.2.4.2). Such an object may have no
// other member.
func arrayElementDigest(element any, path string) (string, bool, error) {
	obj, ok := element.(map[string]any)
	if !ok {
		return "", false, nil
	}
	raw, ok := obj[arrayDigestKey]
	if !ok {
		return "", false, nil
	}
	digest, ok := raw.(string)
	if !ok || len(obj) != 1 {
		return "", false, fmt.Errorf(`%w: %s must be {"...": digest} with a string digest and no other member`, ErrMalformed, path)
	}
	return digest, true, nil
}
