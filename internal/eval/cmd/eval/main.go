// Command eval prints how well package categorize does on the labelled
// corpus in testdata/labelled and on the demo feed in testdata/sample, or
// regenerates the corpus with -generate.
//
//	go run ./internal/eval/cmd/eval
//	go run ./internal/eval/cmd/eval -generate
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/eval"
)

func main() {
	if err := run(); err != nil {
		slog.Error("eval failed", "error", err)
		os.Exit(1)
	}
}

func run() error {
	labelled := flag.String("labelled", "testdata/labelled", "folder of the generated labelled corpus")
	sample := flag.String("sample", "testdata/sample", "folder of the demo feed with labels.json per customer; empty to skip")
	generate := flag.Bool("generate", false, "regenerate the labelled corpus into -labelled and exit")
	calibrate := flag.Bool("calibrate", false, "fit the confidence steps on the corpora of eval.CalibrationSeeds, print them as Go and exit")
	seed := flag.Int64("seed", eval.DefaultSeed, "seed of the corpus generator")
	misses := flag.Int("misses", 20, "maximum number of wrong predictions to list")
	flag.Parse()

	if *generate {
		if err := eval.WriteCorpus(*labelled, *seed); err != nil {
			return fmt.Errorf("failed to generate the corpus: %w", err)
		}
		fmt.Printf("wrote the labelled corpus to %s (seed %d)\n", *labelled, *seed)
		return nil
	}

	if *calibrate {
		return printCalibration()
	}

	corpus, err := eval.LoadCorpus(*labelled)
	if err != nil {
		return fmt.Errorf("failed to load the labelled corpus: %w", err)
	}
	var demo []eval.Case
	if *sample != "" {
		if demo, err = eval.LoadSample(*sample); err != nil {
			return fmt.Errorf("failed to load the demo feed: %w", err)
		}
	}

	categorizer := categorize.New()
	for _, part := range []struct {
		title string
		cases []eval.Case
	}{
		{"labelled corpus (" + *labelled + ")", corpus},
		{"demo feed (" + *sample + ")", demo},
		{"both", append(append([]eval.Case(nil), corpus...), demo...)},
	} {
		if len(part.cases) == 0 {
			continue
		}
		fmt.Printf("== %s: %d customers\n", part.title, len(part.cases))
		if err := eval.Run(categorizer, part.cases).Print(os.Stdout, *misses); err != nil {
			return err
		}
		fmt.Println()
	}
	return nil
}

// printCalibration fits the confidence steps on generated histories and
// prints them as the Go source of categorize.confidenceSteps, with the
// reliability of the fitted and of the committed steps on those histories.
func printCalibration() error {
	cases, err := eval.CalibrationCases()
	if err != nil {
		return fmt.Errorf("failed to generate the calibration histories: %w", err)
	}
	report := eval.Run(categorize.New(), cases)
	steps := eval.FitConfidence(report.Confidence)
	fmt.Printf("// fitted on %d predictions of %d customers (seeds %v)\n", len(report.Confidence), len(cases), eval.CalibrationSeeds)
	fmt.Println("var confidenceSteps = []ConfidenceStep{")
	for _, s := range steps {
		fmt.Printf("\t{From: %.2f, Confidence: %.3f},\n", s.From, s.Confidence)
	}
	fmt.Println("}")
	fmt.Println("\ncommitted steps on the calibration histories:")
	return eval.PrintReliability(os.Stdout, report.Confidence)
}
