package chserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
)

// InsertArrow appends rec to table as one INSERT, matching columns by field
// name. Table columns the record lacks get their defaults. How each Arrow
// type is converted, and what a null becomes, is described at columnValues.
// An empty record sends nothing.
func (e *Engine) InsertArrow(ctx context.Context, table string, rec arrow.RecordBatch) error {
	names, err := insertColumns(table, rec.Schema())
	if err != nil {
		return err
	}
	if rec.NumRows() == 0 {
		return nil
	}

	// Prepare the batch: the server returns the types of the named columns,
	// which decide the conversion of each Arrow column.
	query := insertQuery(table, names)
	batch, err := e.conn.PrepareBatch(ctx, query)
	if err != nil {
		return classify(fmt.Errorf("prepare insert into %s: %w", table, err))
	}
	defer batch.Close() // ends the INSERT and frees the connection if Send is not reached
	targets := batch.Columns()
	if len(targets) != len(names) {
		return fmt.Errorf("insert into %s: server returned %d columns for %d fields", table, len(targets), len(names))
	}

	// Append column by column, then send everything as one block.
	for i, name := range names {
		if targets[i].Name() != name {
			return fmt.Errorf("insert into %s: server returned column %s where %s was expected", table, targets[i].Name(), name)
		}
		chType := string(targets[i].Type())
		values, err := columnValues(name, rec.Column(i), chType)
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		if err := batch.Column(i).Append(values); err != nil {
			return fmt.Errorf("insert into %s: column %s (Arrow %s to ClickHouse %s): %w", table, name, rec.Column(i).DataType(), chType, appendError(err))
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("insert %d rows into %s: %w", rec.NumRows(), table, err))
	}
	e.logger.Debug("inserted Arrow record", "table", table, "rows", rec.NumRows(), "database", e.database)
	return nil
}

// appendError returns err when it names only types. clickhouse-go quotes the
// value in other append errors (an unparsable date string, a decimal out of
// range), and a value may be personal data, so those are replaced.
func appendError(err error) error {
	var conversion *column.ColumnConverterError
	if errors.As(err, &conversion) {
		return err
	}
	return errors.New("clickhouse-go rejected a value of the column (its message is withheld because it quotes the value)")
}

// insertColumns checks table and the record's field names and types before
// any connection is used, and returns the field names.
func insertColumns(table string, schema *arrow.Schema) ([]string, error) {
	if !identifier.MatchString(table) {
		return nil, fmt.Errorf("invalid table name %q: use letters, digits and _", table)
	}
	if schema.NumFields() == 0 {
		return nil, fmt.Errorf("insert into %s: record has no fields", table)
	}

	names := make([]string, schema.NumFields())
	seen := make(map[string]bool, len(names))
	for i, f := range schema.Fields() {
		if !identifier.MatchString(f.Name) {
			return nil, fmt.Errorf("insert into %s: invalid column name %q: use letters, digits and _", table, f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("insert into %s: column %s appears twice in the record", table, f.Name)
		}
		seen[f.Name] = true
		if err := checkArrowType(f.Name, f.Type); err != nil {
			return nil, fmt.Errorf("insert into %s: %w", table, err)
		}
		names[i] = f.Name
	}
	return names, nil
}

// insertQuery returns the INSERT statement for a batch. Names are already
// checked identifiers, so backticks quote them without escaping.
func insertQuery(table string, names []string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO `" + table + "` (")
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + name + "`")
	}
	b.WriteString(")")
	return b.String()
}
