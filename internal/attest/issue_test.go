package attest

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func TestClaimsPayload_values(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	amount := func(s string) insights.Amount {
		a, err := insights.ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	payday, _ := insights.ParseDate("2026-12-24")

	tests := []struct {
		name   string
		result insights.ClaimResult
		want   string // JSON of the whole claims map
	}{
		{"age over 18", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true,
		}, `{"age_over_18":true}`},
		{"age over 21 false", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 21}, Available: true,
		}, `{"age_over_21":false}`},
		{"funds GBP as of BST time", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount("500"), Currency: "GBP"},
			Available: true, Holds: true, AsOf: time.Date(2026, 7, 1, 11, 30, 0, 0, london),
		}, `{"funds_at_least":{"amount":"500.00","currency":"GBP","as_of":"2026-07-01T10:30:00Z","overdraft_included":false,"result":true}}`},
		{"funds JPY no decimals", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount("20000"), Currency: "JPY"},
			Available: true, AsOf: testNow,
		}, `{"funds_at_least":{"amount":"20000","currency":"JPY","as_of":"2026-12-04T10:00:00Z","overdraft_included":false,"result":false}}`},
		{"funds KWD three decimals", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount("1.25"), Currency: "KWD"},
			Available: true, Holds: true, AsOf: testNow,
		}, `{"funds_at_least":{"amount":"1.250","currency":"KWD","as_of":"2026-12-04T10:00:00Z","overdraft_included":false,"result":true}}`},
		{"address", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, Available: true,
		}, `{"address_matches":{"post_code":"SW1A 1AA","result":false}}`},
		{"salary", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}, Available: true,
			NextDate: payday, Cadence: insights.CadenceMonthly,
		}, `{"next_salary":{"date":"2026-12-24","cadence":"monthly"}}`},
		{"salary with amount band", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true}, Available: true,
			NextDate: payday, Cadence: insights.CadenceMonthly, SalaryAmount: amount("2140.50"), SalaryCurrency: "GBP",
		}, `{"next_salary":{"date":"2026-12-24","cadence":"monthly"},"next_salary_amount":{"band":"2000-2500 GBP","cadence":"monthly"}}`},
		{"salary band unavailable", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true},
		}, `{"unavailable":["next_salary","next_salary_amount"]}`},
		{"address by whole address", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: "Flat 14A, 2 St Albans Rd"}, Available: true, Holds: true,
		}, `{"address_matches":{"address":"Flat 14A, 2 St Albans Rd","result":true}}`},
		{"address country", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, Available: true, Country: "GB",
		}, `{"address_country":"GB"}`},
		{"address region", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, Available: true, Region: "GB-SCT",
		}, `{"address_region":"GB-SCT"}`},
		{"address with chosen full address", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", FullAddress: true},
			Available: true, Holds: true,
			PostalAddress: &insights.PostalAddress{Lines: []string{"Flat 14A", "2 St Albans Road"}, Town: "Watford", PostCode: "WD17 1AA", Country: "GB"},
		}, `{"address_matches":{"post_code":"WD17 1AA","result":true},"postal_address":{"lines":["Flat 14A","2 St Albans Road"],"town":"Watford","post_code":"WD17 1AA","country":"GB"}}`},
		{"address with full address withheld", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", FullAddress: true},
			Available: true, Holds: true,
		}, `{"address_matches":{"post_code":"WD17 1AA","result":true}}`},
		{"funds average with overdraft", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount("500"), Currency: "GBP",
				AverageDays: 30, IncludeOverdraft: true},
			Available: true, Holds: true, AsOf: testNow,
			Funds: &insights.FundsBasis{OverdraftIncluded: true, AverageDays: 30, BalanceAge: time.Hour},
		}, `{"funds_at_least":{"amount":"500.00","currency":"GBP","as_of":"2026-12-04T10:00:00Z","overdraft_included":true,"average_days":30,"result":true}}`},
		{"funds stale balance states its age", insights.ClaimResult{
			Request:   insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount("500"), Currency: "GBP"},
			Available: true, AsOf: testNow,
			Funds: &insights.FundsBasis{BalanceAge: 80*time.Hour + 500*time.Millisecond, Stale: true},
		}, `{"funds_at_least":{"amount":"500.00","currency":"GBP","as_of":"2026-12-04T10:00:00Z","overdraft_included":false,"data_age_seconds":288000,"result":false}}`},
		{"age unavailable", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Holds: true,
		}, `{"unavailable":["age_over_18"]}`},
		{"salary unavailable", insights.ClaimResult{
			Request: insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate},
		}, `{"unavailable":["next_salary"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, names, err := ClaimsPayload([]insights.ClaimResult{tt.result})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, claims); got != tt.want {
				t.Errorf("claims = %s\nwant     %s", got, tt.want)
			}
			// Every requested name is a member or listed as unavailable.
			var want []string
			for name, value := range claims {
				if name == UnavailableClaim {
					want = append(want, value.([]string)...)
					continue
				}
				want = append(want, name)
			}
			sort.Strings(want)
			got := append([]string(nil), names...)
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("names = %v; want %v", got, want)
			}
		})
	}
}

func TestClaimsPayload_rejects(t *testing.T) {
	fine, _ := insights.ParseAmount("10.5")
	tooFine, _ := insights.ParseAmount("10.005")
	age := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}

	tests := []struct {
		name    string
		results []insights.ClaimResult
		wantErr string
	}{
		{"unknown kind", []insights.ClaimResult{{Request: insights.ClaimRequest{Kind: "credit_score"}}},
			`results[0].Request: unknown claim kind "credit_score"`},
		{"age zero", []insights.ClaimResult{{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver}}},
			"MinimumAge 0 is outside 1 to 150"},
		{"same claim twice", []insights.ClaimResult{{Request: age}, {Request: age}},
			"results[1].Request: claim age_over_18 is requested twice"},
		{"lower-case currency", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: fine, Currency: "gbp"}}},
			"results[0].Request.Currency"},
		{"negative amount", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: -fine, Currency: "GBP"}}},
			"results[0].Request.Amount: -10.50000 is negative"},
		{"amount finer than pence", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: tooFine, Currency: "GBP"}}},
			"more decimals than GBP allows (2)"},
		{"funds without as-of time", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: fine, Currency: "GBP"}, Available: true}},
			"results[0].AsOf: zero"},
		{"address without postcode", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimAddressMatches}}},
			"results[0].Request: a match needs a PostCode or an Address"},
		{"salary without date", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimNextSalaryDate}, Available: true, Cadence: insights.CadenceMonthly}},
			"results[0].NextDate: zero"},
		{"postcode and address", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA", Address: "10 Downing St"}}},
			"results[0].Request: set PostCode or Address, not both"},
		{"unknown address scope", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimAddressMatches, AddressScope: "county"}}},
			`AddressScope "county" is not "country" or "region"`},
		{"scope with full address", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry, FullAddress: true}}},
			`results[0].Request.AddressScope: "country" discloses only the country`},
		{"country missing", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry}, Available: true}},
			"results[0].Country: missing"},
		{"amount band on funds", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: fine, Currency: "GBP", SalaryAmountBand: true}}},
			"results[0].Request.SalaryAmountBand: only a next_salary claim has an amount band, not funds_at_least"},
		{"salary band without currency", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true}, Available: true,
			NextDate: insights.Date{Year: 2026, Month: 12, Day: 24}, Cadence: insights.CadenceMonthly}},
			"results[0].SalaryCurrency: missing"},
		{"funds basis differs from request", []insights.ClaimResult{{Request: insights.ClaimRequest{
			Kind: insights.ClaimFundsAtLeast, Amount: fine, Currency: "GBP", AverageDays: 7}, Available: true, AsOf: testNow,
			Funds: &insights.FundsBasis{}}},
			"results[0].Funds: computed with overdraft false over 0 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ClaimsPayload(tt.results)
			if err == nil {
				t.Fatalf("ClaimsPayload succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssue_exactHeaderAndPayload(t *testing.T) {
	keys, _ := newTestKeys(t)
	results := append(allClaimResults(t), insights.ClaimResult{
		Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 21},
	})

	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient, results, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	header := decodeTokenPart(t, issued.Token, 0)
	wantHeader := map[string]any{"alg": "ES256", "kid": keys.SigningKeyID(), "typ": "JWT"}
	if !reflect.DeepEqual(header, wantHeader) {
		t.Errorf("header = %v; want %v", header, wantHeader)
	}

	// The payload must contain exactly these members: registered claims and
	// derived claims, never a birth date, balance, address or transaction.
	payload := decodeTokenPart(t, issued.Token, 1)
	var gotKeys []string
	for k := range payload {
		gotKeys = append(gotKeys, k)
	}
	sort.Strings(gotKeys)
	wantKeys := []string{"address_matches", "age_over_18", "aud", "exp", "funds_at_least", "iat", "iss", "jti", "next_salary", "sub", "unavailable"}
	if !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Errorf("payload members = %v; want exactly %v", gotKeys, wantKeys)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"iss", payload["iss"], testIssuer},
		{"sub", payload["sub"], keys.Subject(testCustomer, testClient)},
		{"aud", payload["aud"], testClient},
		{"iat", payload["iat"], float64(testNow.Unix())},
		{"exp", payload["exp"], float64(testNow.Add(10 * time.Minute).Unix())},
		{"jti", payload["jti"], issued.JTI},
		{"unavailable", payload["unavailable"], []any{"age_over_21"}},
		{"Issued.Subject", issued.Subject, keys.Subject(testCustomer, testClient)},
		{"Issued.IssuedAt", issued.IssuedAt, testNow},
		{"Issued.ExpiresAt", issued.ExpiresAt, testNow.Add(10 * time.Minute)},
		{"Issued.ClaimNames", issued.ClaimNames, []string{"age_over_18", "funds_at_least", "address_matches", "next_salary", "age_over_21"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
	if len(issued.JTI) != 22 { // 16 bytes in unpadded base64url
		t.Errorf("jti %q has %d characters; want 22", issued.JTI, len(issued.JTI))
	}
	if strings.Contains(issued.Token, testCustomer) {
		t.Error("token contains the customer ID")
	}
}

func TestIssue_uniqueJTI(t *testing.T) {
	keys, _ := newTestKeys(t)
	issuer := newTestIssuer(keys)
	seen := map[string]bool{}
	for range 50 {
		issued, err := issuer.Issue(testCustomer, testClient, allClaimResults(t), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if seen[issued.JTI] {
			t.Fatalf("jti %q issued twice", issued.JTI)
		}
		seen[issued.JTI] = true
	}
}

func TestIssue_rejectsInput(t *testing.T) {
	keys, _ := newTestKeys(t)
	results := allClaimResults(t)

	tests := []struct {
		name     string
		issuer   *Issuer
		customer string
		client   string
		results  []insights.ClaimResult
		lifetime time.Duration
		wantErr  string
	}{
		{"no keys", &Issuer{Issuer: testIssuer}, testCustomer, testClient, results, time.Minute, "no keys"},
		{"no iss", &Issuer{Keys: keys}, testCustomer, testClient, results, time.Minute, `no "iss"`},
		{"empty customer", newTestIssuer(keys), "", testClient, results, time.Minute, "customer ID is empty"},
		{"empty client", newTestIssuer(keys), testCustomer, "", results, time.Minute, "client ID is empty"},
		{"NUL in client", newTestIssuer(keys), testCustomer, "a\x00b", results, time.Minute, "NUL"},
		{"zero lifetime", newTestIssuer(keys), testCustomer, testClient, results, 0, "under one second"},
		{"no claims", newTestIssuer(keys), testCustomer, testClient, nil, time.Minute, "no claims"},
		{"bad claim", newTestIssuer(keys), testCustomer, testClient,
			[]insights.ClaimResult{{Request: insights.ClaimRequest{Kind: "x"}}}, time.Minute, "unknown claim kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.issuer.Issue(tt.customer, tt.client, tt.results, tt.lifetime)
			if err == nil {
				t.Fatalf("Issue succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssue_roundTrip(t *testing.T) {
	keys, _ := newTestKeys(t)
	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient, allClaimResults(t), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}

	v, err := Verify(context.Background(), issued.Token, set, VerifyOptions{
		Audience: testClient, Issuer: testIssuer, Now: func() time.Time { return testNow.Add(time.Minute) },
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"Header", v.Header, Header{Algorithm: "ES256", KeyID: keys.SigningKeyID(), Type: "JWT"}},
		{"Issuer", v.Issuer, testIssuer},
		{"Subject", v.Subject, issued.Subject},
		{"Audience", v.Audience, []string{testClient}},
		{"IssuedAt", v.IssuedAt, issued.IssuedAt},
		{"ExpiresAt", v.ExpiresAt, issued.ExpiresAt},
		{"JTI", v.JTI, issued.JTI},
		{"age_over_18", v.Claims["age_over_18"], true},
		{"funds_at_least", v.Claims["funds_at_least"], map[string]any{
			"amount": "500.00", "currency": "GBP", "as_of": "2026-12-04T09:00:00Z", "overdraft_included": false, "result": true}},
		{"address_matches", v.Claims["address_matches"], map[string]any{"post_code": "SW1A 1AA", "result": true}},
		{"next_salary", v.Claims["next_salary"], map[string]any{"date": "2026-12-24", "cadence": "monthly"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}

	// The same claims map is what ClaimsPayload shows before approval.
	shown, _, err := ClaimsPayload(allClaimResults(t))
	if err != nil {
		t.Fatal(err)
	}
	var shownDecoded map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, shown)), &shownDecoded); err != nil {
		t.Fatal(err)
	}
	for name, value := range shownDecoded {
		if !reflect.DeepEqual(v.Claims[name], value) {
			t.Errorf("token claim %s = %#v; consent page showed %#v", name, v.Claims[name], value)
		}
	}
}
