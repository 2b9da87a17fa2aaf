package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"
	gqlparserparser "github.com/vektah/gqlparser/v2/parser"

	"github.com/openbanking-insights/insights"
)

// Limits bounds the work one GraphQL request may cause. A zero field takes
// the default of DefaultLimits.
type Limits struct {
	// MaxBodyBytes bounds the HTTP request body.
	MaxBodyBytes int64
	// MaxVariablesBytes bounds the JSON text of the variables member.
	MaxVariablesBytes int
	// MaxDepth bounds field nesting, counting the fields that fragments
	// and inline fragments contribute at the depth where they are spread.
	MaxDepth int
	// MaxCost bounds the cost of an operation, computed by queryCost
	// before execution.
	MaxCost int
	// Timeout bounds the execution of one operation. A request still
	// running then gets UNAVAILABLE and its resolvers see a cancelled
	// context.
	Timeout time.Duration
	// DisableIntrospection rejects __schema and __type queries. The
	// default leaves introspection on, because the schema is the API's
	// reference documentation and the explorer page needs it.
	DisableIntrospection bool
}

// DefaultLimits are the limits of a zero Limits field.
var DefaultLimits = Limits{
	MaxBodyBytes:      maxBodyBytes,
	MaxVariablesBytes: 64 << 10,
	MaxDepth:          maxQueryDepth,
	// The request status query with every field costs 85, and a full
	// introspection query 199 (both in limits_test.go), so 1000 allows
	// about ten full lookups in one request.
	MaxCost: 1000,
	Timeout: 10 * time.Second,
}

// withDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultLimits.MaxBodyBytes
	}
	if l.MaxVariablesBytes <= 0 {
		l.MaxVariablesBytes = DefaultLimits.MaxVariablesBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxCost <= 0 {
		l.MaxCost = DefaultLimits.MaxCost
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	return l
}

// listCost is the number of elements queryCost assumes for a list field
// outside introspection: the maximum number of claims in a request.
// NOTE: this is an assumed length, not a bound. The claimNames of a request
// with affordability claims may list more names.
const listCost = 10

// errCostParse marks a query the cost pass could not parse. graphql-go
// parses it again and reports the syntax error in its own words.
var errCostParse = errors.New("query does not parse")

// costChecker computes the cost of operations against the schema.
type costChecker struct {
	schema *gqlast.Schema
}

func newCostChecker() (*costChecker, error) {
	schema, err := gqlparser.LoadSchema(&gqlast.Source{Name: "schema.graphql", Input: insights.Schema})
	if err != nil {
		return nil, fmt.Errorf("load schema for the query cost pass: %w", err)
	}
	return &costChecker{schema: schema}, nil
}

// queryCost returns the cost of the operation of query that operationName
// selects, and whether it selects __schema or __type. Every field costs 1, and a list field multiplies the cost of
// its selection by listCost. Fields below __schema and __type cost 1
// whatever their type, because they read the fixed, in-memory schema.
// Fragments count at every spread. A fragment cycle, an unknown fragment
// or an unknown operation costs nothing here: graphql-go rejects them.
func (c *costChecker) queryCost(query, operationName string) (cost int, introspects bool, err error) {
	doc, err := gqlparserparser.ParseQuery(&gqlast.Source{Input: query})
	if err != nil {
		return 0, false, errCostParse
	}
	var op *gqlast.OperationDefinition
	switch {
	case operationName != "":
		op = doc.Operations.ForName(operationName)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	if op == nil {
		return 0, false, nil
	}
	root := c.schema.Query
	if op.Operation == gqlast.Mutation {
		root = c.schema.Mutation
	}
	if root == nil {
		return 0, false, nil
	}
	w := costWalker{schema: c.schema, fragments: doc.Fragments, memo: map[string]int{}, active: map[string]bool{}}
	cost = w.selectionCost(op.SelectionSet, root, false)
	return cost, w.introspects, nil
}

// costWalker walks one document. Fragment costs are memoised per fragment
// and introspection context, so a document that spreads fragments
// exponentially many times costs linear work to price.
type costWalker struct {
	schema    *gqlast.Schema
	fragments gqlast.FragmentDefinitionList
	memo      map[string]int
	active    map[string]bool
	// introspects is set once a __schema or __type field is seen.
	introspects bool
}

// maxCostValue caps sums so that a hostile document cannot overflow int.
const maxCostValue = 1 << 40

func addCost(a, b int) int {
	if a+b > maxCostValue {
		return maxCostValue
	}
	return a + b
}

func mulCost(a, b int) int {
	if b != 0 && a > maxCostValue/b {
		return maxCostValue
	}
	return a * b
}

func (w *costWalker) selectionCost(set gqlast.SelectionSet, parent *gqlast.Definition, introspection bool) int {
	total := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *gqlast.Field:
			total = addCost(total, w.fieldCost(sel, parent, introspection))
		case *gqlast.InlineFragment:
			typ := parent
			if sel.TypeCondition != "" {
				typ = w.schema.Types[sel.TypeCondition]
			}
			if typ != nil {
				total = addCost(total, w.selectionCost(sel.SelectionSet, typ, introspection))
			}
		case *gqlast.FragmentSpread:
			total = addCost(total, w.fragmentCost(sel.Name, introspection))
		}
	}
	return total
}

func (w *costWalker) fragmentCost(name string, introspection bool) int {
	key := fmt.Sprintf("%s/%t", name, introspection)
	if cost, ok := w.memo[key]; ok {
		return cost
	}
	frag := w.fragments.ForName(name)
	if frag == nil || w.active[key] {
		return 0
	}
	typ := w.schema.Types[frag.TypeCondition]
	if typ == nil {
		return 0
	}
	w.active[key] = true
	cost := w.selectionCost(frag.SelectionSet, typ, introspection)
	delete(w.active, key)
	w.memo[key] = cost
	return cost
}

func (w *costWalker) fieldCost(f *gqlast.Field, parent *gqlast.Definition, introspection bool) int {
	var typ *gqlast.Type
	switch f.Name {
	case "__typename":
		return 1
	case "__schema":
		typ, introspection, w.introspects = gqlast.NonNullNamedType("__Schema", nil), true, true
	case "__type":
		typ, introspection, w.introspects = gqlast.NamedType("__Type", nil), true, true
	default:
		def := parent.Fields.ForName(f.Name)
		if def == nil {
			return 1 // graphql-go rejects the unknown field
		}
		typ = def.Type
	}
	if len(f.SelectionSet) == 0 {
		return 1
	}
	named := w.schema.Types[typ.Name()]
	if named == nil {
		return 1
	}
	inner := w.selectionCost(f.SelectionSet, named, introspection)
	if typ.Elem != nil && !introspection {
		inner = mulCost(inner, listCost)
	}
	return addCost(1, inner)
}
