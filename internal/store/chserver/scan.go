package chserver

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// scanTarget returns where clickhouse-go should scan a column of type
// chType that the caller scans into dest. clickhouse-go accepts only a
// destination of the column's exact Go type. The embedded engine also scans
// any integer column into *int64, *uint64, *float64 and *string, and a
// UInt8 column into *bool, so SELECT count() (a UInt64) scanned into *int64
// works there. For those pairs the target is a value of the column's own
// type, which convertScanned then copies into dest. For every other pair
// the target is dest itself.
func scanTarget(chType string, dest any) any {
	switch dest.(type) {
	case *int64, *uint64, *float64, *string, *bool:
	default:
		return dest
	}
	var native any
	switch chType {
	case "Int8":
		native = new(int8)
	case "Int16":
		native = new(int16)
	case "Int32":
		native = new(int32)
	case "Int64":
		native = new(int64)
	case "UInt8":
		native = new(uint8)
	case "UInt16":
		native = new(uint16)
	case "UInt32":
		native = new(uint32)
	case "UInt64":
		native = new(uint64)
	default:
		return dest
	}
	if reflect.TypeOf(native) == reflect.TypeOf(dest) {
		return dest
	}
	if _, ok := dest.(*bool); ok && chType != "UInt8" {
		return dest
	}
	return native
}

// convertScanned copies the integer src points to into dest, with the range
// checks of the embedded engine: an unsigned value above math.MaxInt64 does
// not fit *int64, a negative value does not fit *uint64, and only 0 and 1
// are booleans.
func convertScanned(src, dest any) error {
	var (
		signed   int64
		unsigned uint64
		negative bool
	)
	switch v := src.(type) {
	case *int8:
		signed = int64(*v)
	case *int16:
		signed = int64(*v)
	case *int32:
		signed = int64(*v)
	case *int64:
		signed = *v
	case *uint8:
		unsigned = uint64(*v)
	case *uint16:
		unsigned = uint64(*v)
	case *uint32:
		unsigned = uint64(*v)
	case *uint64:
		unsigned = *v
	default:
		return fmt.Errorf("cannot convert %T", src)
	}
	isSigned := false
	switch src.(type) {
	case *int8, *int16, *int32, *int64:
		isSigned = true
		negative = signed < 0
	}

	switch d := dest.(type) {
	case *int64:
		if isSigned {
			*d = signed
			return nil
		}
		if unsigned > math.MaxInt64 {
			return fmt.Errorf("value %d overflows int64", unsigned)
		}
		*d = int64(unsigned)
	case *uint64:
		if negative {
			return fmt.Errorf("negative value %d for uint64", signed)
		}
		if isSigned {
			*d = uint64(signed)
			return nil
		}
		*d = unsigned
	case *float64:
		if isSigned {
			*d = float64(signed)
			return nil
		}
		*d = float64(unsigned)
	case *string:
		if isSigned {
			*d = strconv.FormatInt(signed, 10)
			return nil
		}
		*d = strconv.FormatUint(unsigned, 10)
	case *bool:
		if isSigned || unsigned > 1 {
			return fmt.Errorf("value %d is not a boolean (0 or 1)", unsigned)
		}
		*d = unsigned == 1
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}
