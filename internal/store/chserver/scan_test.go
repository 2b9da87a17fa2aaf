package chserver

import (
	"math"
	"strings"
	"testing"
)

func TestScanTarget_convertsOnlyIntegerMismatches(t *testing.T) {
	var (
		i int64
		u uint64
		b bool
		s string
		f float32
	)
	tests := []struct {
		name      string
		chType    string
		dest      any
		converted bool
	}{
		{"UInt64 into int64", "UInt64", &i, true},
		{"Int64 into int64", "Int64", &i, false},
		{"UInt64 into uint64", "UInt64", &u, false},
		{"Int32 into uint64", "Int32", &u, true},
		{"UInt8 into bool", "UInt8", &b, true},
		{"Int8 into bool", "Int8", &b, false},
		{"Bool into bool", "Bool", &b, false},
		{"String into string", "String", &s, false},
		{"UInt16 into string", "UInt16", &s, true},
		{"Nullable into int64", "Nullable(UInt64)", &i, false},
		{"UInt64 into float32", "UInt64", &f, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := scanTarget(tt.chType, tt.dest)
			if converted := target != tt.dest; converted != tt.converted {
				t.Errorf("scanTarget(%s, %T) converts = %v, want %v", tt.chType, tt.dest, converted, tt.converted)
			}
		})
	}
}

func TestConvertScanned_values(t *testing.T) {
	big := uint64(math.MaxInt64) + 1
	minusOne := int32(-1)
	seven := uint8(7)
	one := uint8(1)
	count := uint64(42)
	tests := []struct {
		name    string
		src     any
		dest    any
		want    any
		wantErr string
	}{
		{"count into int64", &count, new(int64), int64(42), ""},
		{"count into float64", &count, new(float64), float64(42), ""},
		{"count into string", &count, new(string), "42", ""},
		{"overflowing uint64 into int64", &big, new(int64), nil, "overflows int64"},
		{"negative into uint64", &minusOne, new(uint64), nil, "negative value -1"},
		{"negative into int64", &minusOne, new(int64), int64(-1), ""},
		{"one into bool", &one, new(bool), true, ""},
		{"seven into bool", &seven, new(bool), nil, "not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := convertScanned(tt.src, tt.dest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got any
			switch d := tt.dest.(type) {
			case *int64:
				got = *d
			case *float64:
				got = *d
			case *string:
				got = *d
			case *bool:
				got = *d
			}
			if got != tt.want {
				t.Errorf("converted to %v, want %v", got, tt.want)
			}
		})
	}
}
