package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/store"
)

// ingestOrderFile loads path as a file of direct debits, standing orders or
// scheduled payments when it is one, and prints the outcome as runIngest
// prints it for other files. handled is false for any other file; err is
// then nil.
func ingestOrderFile(ctx context.Context, engine store.Engine, customer, path string, stdout io.Writer) (handled bool, err error) {
	isOrders, err := orders.IsOrderFile(path)
	if err != nil {
		fmt.Fprintf(stdout, "%s: rejected, nothing stored:\n  %v\n", path, err)
		return true, err
	}
	if !isOrders {
		return false, nil
	}
	res, err := orders.LoadFile(ctx, engine, customer, path, time.Now())
	if err != nil {
		fmt.Fprintf(stdout, "%s: rejected, nothing stored:\n  %v\n", path, indent(err))
		return true, err
	}
	fmt.Fprintf(stdout, "%s: %d %s orders on %d accounts, now current (%d accounts unchanged)\n",
		path, res.Orders, res.Kind, res.Accounts, res.Unchanged)
	return true, nil
}
