// Command cmd regenerates the demo customers' feeds:
//
//	go run ./internal/sample/cmd -out testdata/sample
//
// With no flags it writes the committed sample (sample.DefaultConfig).
package main

import (
	"flag"
	"fmt"
	"os"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/sample"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sample:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	def := sample.DefaultConfig()
	flags := flag.NewFlagSet("sample", flag.ContinueOnError)
	out := flags.String("out", "testdata/sample", "folder to write one sub-folder per customer into")
	seed := flags.Int64("seed", def.Seed, "seed of every random choice")
	end := flags.String("end", def.End.String(), "last day of the history, YYYY-MM-DD (UK local)")
	months := flags.Int("months", def.Months, "number of calendar months of history, ending with the month of -end")
	if err := flags.Parse(args); err != nil {
		return err
	}

	endDate, err := insights.ParseDate(*end)
	if err != nil {
		return fmt.Errorf("invalid -end: %w", err)
	}
	return sample.Write(*out, sample.Config{Seed: *seed, End: endDate, Months: *months})
}
