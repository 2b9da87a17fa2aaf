package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/sample"
)

func runSample(args []string, stdout io.Writer) error {
	def := sample.DefaultConfig()
	var out, end string
	var cfg sample.Config
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.StringVar(&out, "out", "testdata/sample", "directory to write one folder per demo customer into")
	fs.Int64Var(&cfg.Seed, "seed", def.Seed, "random seed; the same seed and end date give byte-identical files")
	fs.StringVar(&end, "end", def.End.String(), "last day of the history, YYYY-MM-DD")
	fs.IntVar(&cfg.Months, "months", def.Months, "months of history")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}

	d, err := insights.ParseDate(end)
	if err != nil {
		return exitError{code: 2, msg: fmt.Sprintf("insights sample: -end: %v", err)}
	}
	cfg.End = d
	if err := sample.Write(out, cfg); err != nil {
		return fmt.Errorf("write sample feed: %w", err)
	}
	fmt.Fprintf(stdout, "wrote the demo feed for %v to %s\n", sample.Customers(), out)
	return nil
}
