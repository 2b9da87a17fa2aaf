package derive

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestNormalizeAddress_saintAndStreet(t *testing.T) {
	tests := []struct {
		in        string
		wantWords []string
		wantNums  []string
		wantCode  string
	}{
		{"St Albans Rd", []string{"SAINT", "ALBANS", "ROAD"}, nil, ""},
		{"High St", []string{"HIGH", "STREET"}, nil, ""},
		{"14 St. John's St, London", []string{"SAINT", "JOHNS", "STREET", "LONDON"}, []string{"14"}, ""},
		{"Flat 14 a, 2 St Mary's Ct", []string{"FLAT", "SAINT", "MARYS", "COURT"}, []string{"14A", "2"}, ""},
		{"Apt 3, 12-14 Queen's Gdns W2 3AB", []string{"FLAT", "QUEENS", "GARDENS"}, []string{"12-14", "3"}, "W23AB"},
		{"10 downing street\nlondon\nsw1a2aa\nUnited Kingdom", []string{"DOWNING", "STREET", "LONDON"}, []string{"10"}, "SW1A2AA"},
		{"2 Mill Lane, Leeds LS6 2QT, UK", []string{"MILL", "LANE", "LEEDS"}, []string{"2"}, "LS62QT"},
		{"10 Downing Street, London SW1A 2AA", []string{"DOWNING", "STREET", "LONDON"}, []string{"10"}, "SW1A2AA"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := normalizeAddress(tt.in)
			if !reflect.DeepEqual(got.words, tt.wantWords) {
				t.Errorf("words = %q, want %q", got.words, tt.wantWords)
			}
			if !reflect.DeepEqual(got.numbers, tt.wantNums) {
				t.Errorf("numbers = %q, want %q", got.numbers, tt.wantNums)
			}
			if got.postCode != tt.wantCode {
				t.Errorf("postCode = %q, want %q", got.postCode, tt.wantCode)
			}
		})
	}
}

func TestAddressMatch_cases(t *testing.T) {
	stAlbans := []string{"Flat 14A", "2 St Albans Road"}
	high := []string{"27 High Street"}
	tests := []struct {
		name      string
		submitted string
		lines     []string
		town      string
		postCode  string
		want      bool
	}{
		{"abbreviations and case", "flat 14a, 2 st albans rd, watford, wd17 1aa", stAlbans, "Watford", "WD17 1AA", true},
		{"punctuation and spaces", "Flat 14A  2, St. Albans Road WD171AA", stAlbans, "Watford", "WD17 1AA", true},
		{"flat letter apart", "Flat 14 A, 2 St Albans Rd, WD17 1AA", stAlbans, "Watford", "WD17 1AA", true},
		{"other flat letter", "Flat 14C, 2 St Albans Rd, WD17 1AA", stAlbans, "Watford", "WD17 1AA", false},
		{"flat letter left out", "Flat 14, 2 St Albans Rd, WD17 1AA", stAlbans, "Watford", "WD17 1AA", false},
		{"other house number", "Flat 14A, 4 St Albans Rd, WD17 1AA", stAlbans, "Watford", "WD17 1AA", false},
		{"other postcode", "Flat 14A, 2 St Albans Rd, WD17 1AB", stAlbans, "Watford", "WD17 1AA", false},
		{"town instead of postcode", "Flat 14A, 2 St Albans Rd, Watford", stAlbans, "Watford", "WD17 1AA", true},
		{"neither town nor postcode", "Flat 14A, 2 St Albans Rd", stAlbans, "Watford", "WD17 1AA", false},
		{"street left out", "Flat 14A, 2, WD17 1AA", stAlbans, "Watford", "WD17 1AA", false},
		{"other street", "Flat 14A, 2 St Albans Avenue, WD17 1AA", stAlbans, "Watford", "WD17 1AA", false},
		{"St as Street after a name", "27 High St, Hitchin SG5 1AA", high, "Hitchin", "SG5 1AA", true},
		{"Saint is not Street", "27 High Saint, Hitchin SG5 1AA", high, "Hitchin", "SG5 1AA", false},
		{"country words ignored", "27 High Street, Hitchin, England, UK", high, "Hitchin", "SG5 1AA", true},
		{"extra word not in the address", "27 Old High Street, SG5 1AA", high, "Hitchin", "SG5 1AA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addressMatch(tt.submitted, tt.lines, tt.town, tt.postCode); got != tt.want {
				t.Errorf("addressMatch(%q) = %v, want %v", tt.submitted, got, tt.want)
			}
		})
	}
}

func TestPostCodeRegion_nations(t *testing.T) {
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"BT11AA", "GB-NIR", true},
		{"EH11AA", "GB-SCT", true},
		{"G11AA", "GB-SCT", true},
		{"CF101AA", "GB-WLS", true},
		{"SW1A1AA", "GB-ENG", true},
		{"GL11AA", "GB-ENG", true},
		{"SY231AA", "", false}, // Shropshire and Powys share the area
		{"TD151AA", "", false}, // Berwick and the Borders share the area
		{"JE21AA", "", false},  // Jersey is outside the UK
	}
	for _, tt := range tests {
		got, ok := postCodeRegion(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("postCodeRegion(%s) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func insertAddress(t *testing.T, e store.Engine, customer, partyID string, lines []string, town, postCode, country string) {
	t.Helper()
	exec(t, e, `INSERT INTO parties (customer_id, party_id, name, birth_date, address_lines, town, post_code, country, content_hash, source, ingested_at)
SELECT {customer:String}, {party:String}, 'Test Holder', NULL, splitByChar('|', {lines:String}), {town:String},
       {post:String}, {country:String}, '', 'test', now64(3, 'UTC')`,
		store.P("customer", customer), store.P("party", partyID), store.P("lines", strings.Join(lines, "|")),
		store.P("town", town), store.P("post", postCode), store.P("country", country))
}

func TestDerive_addressForms(t *testing.T) {
	e := storetest.New(t)
	insertAddress(t, e, "watford", "p1", []string{"Flat 14A", "2 St Albans Road"}, "Watford", "WD17 1AA", "GB")
	insertAddress(t, e, "edinburgh", "p1", []string{"5 Princes St"}, "Edinburgh", "EH2 2AN", "")
	insertAddress(t, e, "split", "p1", []string{"5 Princes St"}, "Edinburgh", "EH2 2AN", "GB")
	insertAddress(t, e, "split", "p2", []string{"1 Queen St"}, "Cardiff", "CF10 2BH", "GB")
	insertAddress(t, e, "abroad", "p1", []string{"1 Rue de Rivoli"}, "Paris", "75001", "FR")

	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	tests := []struct {
		name     string
		customer string
		req      insights.ClaimRequest
		wantAvl  bool
		wantHold bool
		country  string
		region   string
	}{
		{"address match", "watford", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: "flat 14a, 2 st albans rd, wd17 1aa"}, true, true, "", ""},
		{"address flat mismatch", "watford", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: "Flat 14C, 2 St Albans Rd, WD17 1AA"}, true, false, "", ""},
		{"country", "watford", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, true, false, "GB", ""},
		{"region England", "watford", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, true, false, "", "GB-ENG"},
		{"country from a UK postcode", "edinburgh", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, true, false, "GB", ""},
		{"region Scotland", "edinburgh", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, true, false, "", "GB-SCT"},
		{"parties in two nations", "split", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, false, false, "", ""},
		{"parties share a country", "split", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, true, false, "GB", ""},
		{"region outside the UK", "abroad", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, false, false, "", ""},
		{"country outside the UK", "abroad", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, true, false, "FR", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := derive1(t, d, tt.customer, tt.req, now)
			if res.Available != tt.wantAvl || res.Holds != tt.wantHold {
				t.Errorf("Available, Holds = %v, %v; want %v, %v", res.Available, res.Holds, tt.wantAvl, tt.wantHold)
			}
			if res.Country != tt.country || res.Region != tt.region {
				t.Errorf("Country, Region = %q, %q; want %q, %q", res.Country, res.Region, tt.country, tt.region)
			}
			if res.Available && (res.DataFrom.IsZero() || res.DataTo.IsZero()) {
				t.Errorf("data window %v to %v has a zero end", res.DataFrom, res.DataTo)
			}
			if res.PostalAddress != nil {
				t.Errorf("PostalAddress = %+v without FullAddress", res.PostalAddress)
			}
		})
	}

	t.Run("full address", func(t *testing.T) {
		req := insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", FullAddress: true}
		res := derive1(t, d, "watford", req, now)
		want := &insights.PostalAddress{Lines: []string{"Flat 14A", "2 St Albans Road"}, Town: "Watford", PostCode: "WD17 1AA", Country: "GB"}
		if !reflect.DeepEqual(res.PostalAddress, want) {
			t.Errorf("PostalAddress = %+v, want %+v", res.PostalAddress, want)
		}
	})
}

func TestDerive_addressRejects(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	tests := []struct {
		name    string
		req     insights.ClaimRequest
		wantErr string
	}{
		{"nothing to compare", insights.ClaimRequest{Kind: insights.ClaimAddressMatches}, "claims[0].PostCode: missing"},
		{"postcode and address", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", Address: "2 High St"}, "claims[0].Address: set PostCode or Address, not both"},
		{"unknown scope", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: "postcode"}, `claims[0].AddressScope: invalid value "postcode"`},
		{"scope with full address", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion, FullAddress: true}, `claims[0].AddressScope: "region" discloses only the region`},
		{"numbers only", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: "14, 2"}, "claims[0].Address: has no street or building name"},
		{"too long", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: strings.Repeat("a", 501)}, "claims[0].Address: 501 characters; the limit is 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Derive(context.Background(), "c", []insights.ClaimRequest{tt.req}, now)
			if insights.ErrorCode(err) != insights.ErrInvalid || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want an invalid error containing %q", err, tt.wantErr)
			}
		})
	}
}
