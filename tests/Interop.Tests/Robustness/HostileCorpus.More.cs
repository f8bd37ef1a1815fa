using System.Text;
using System.Text.Json.Nodes;

namespace Interop.Tests.Robustness;

/// <summary>A value that is long but valid: it must be stored (201), read back whole and found by a family search.</summary>
public sealed record LongValueCase(string Id, Func<LongValue> Make)
{
    public override string ToString() => Id;
}

/// <param name="Json">The Patient to create.</param>
/// <param name="Family">A family name the Patient has; the search uses its first 300 characters.</param>
/// <param name="RoundTrips">Whether the read-back resource still holds the long value whole.</param>
public sealed record LongValue(string Json, string Family, Func<JsonObject, bool> RoundTrips);

public static partial class HostileCorpus
{
    // ---------------------------------------------------------------- 5. patches

    /// <summary>JSON Patch documents against the subject (active true, one name with family and given, one identifier).</summary>
    private static readonly (string Name, string Patch)[] JsonPatches =
    [
        ("op-number", """[{"op":1,"path":"/active","value":false}]"""),
        ("op-null", """[{"op":null,"path":"/active"}]"""),
        ("op-unknown", """[{"op":"frobnicate","path":"/active"}]"""),
        ("path-missing", """[{"op":"remove"}]"""),
        ("path-number", """[{"op":"remove","path":1}]"""),
        ("path-root-slash", """[{"op":"remove","path":"/"}]"""),
        ("path-empty-replace", """[{"op":"replace","path":"","value":{}}]"""),
        ("path-no-slash", """[{"op":"replace","path":"active","value":false}]"""),
        ("parent-missing", """[{"op":"add","path":"/contact/0/name/family","value":"x"}]"""),
        ("index-out-of-range-remove", """[{"op":"remove","path":"/name/99"}]"""),
        ("index-out-of-range-add", """[{"op":"add","path":"/name/99","value":{"family":"x"}}]"""),
        ("index-huge", """[{"op":"remove","path":"/name/99999999999999999999"}]"""),
        ("move-no-from", """[{"op":"move","path":"/active"}]"""),
        ("copy-no-from", """[{"op":"copy","path":"/active"}]"""),
        ("from-number", """[{"op":"copy","from":1,"path":"/active"}]"""),
        ("from-absent", """[{"op":"copy","from":"/nothing","path":"/active"}]"""),
        ("move-into-itself", """[{"op":"move","from":"/name","path":"/name/0/given"}]"""),
        ("add-no-value", """[{"op":"add","path":"/active"}]"""),
        ("object-body", """{"op":"remove","path":"/active"}"""),
        ("string-body", "\"remove\""),
        ("null-body", "null"),
        ("null-operation", "[null]"),
        ("not-json", "[{op:remove}]"),
        ("empty-body", ""),
        ("duplicate-op-key", """[{"op":"remove","op":"add","path":"/active","value":false}]"""),
        ("duplicate-path-key", """[{"op":"remove","path":"/active","path":"/gender"}]"""),
        ("invalid-birthDate", """[{"op":"add","path":"/birthDate","value":"not-a-date"}]"""),
        ("invalid-gender", """[{"op":"add","path":"/gender","value":"x"}]"""),
        ("invalid-unknown-element", """[{"op":"add","path":"/unknownThing","value":1}]"""),
        ("invalid-active-string", """[{"op":"replace","path":"/active","value":"yes"}]"""),
        ("invalid-resourceType", """[{"op":"replace","path":"/resourceType","value":"Observation"}]"""),
        ("invalid-name-object", """[{"op":"replace","path":"/name","value":{"family":"x"}}]"""),
        ("remove-resourceType", """[{"op":"remove","path":"/resourceType"}]"""),
        ("replace-id", """[{"op":"replace","path":"/id","value":"other"}]"""),
        ("test-differs", """[{"op":"test","path":"/active","value":false}]"""),
        ("test-differs-then-remove", """[{"op":"test","path":"/active","value":"x"},{"op":"remove","path":"/name"}]"""),
    ];

    private static readonly string[] FhirPathSyntaxErrors =
    [
        "Patient.name[", "Patient.name.where(", ")(", "Patient..name", "%undefined", "Patient.foo()", "'unterminated",
        "Patient.name |", "Patient.name.where(family =", "@2020-13-45T",
    ];

    private static Cases PatchCases()
    {
        var cases = new Cases(Patches);
        foreach (var (name, patch) in JsonPatches)
            cases.Add($"json-patch/{name}", id => JsonPatch(id, patch));
        foreach (var (name, patch) in JsonPatches.Where(p => p.Name is "op-number" or "path-number" or "duplicate-op-key" or "not-json"))
            cases.Add($"json-patch-in-bundle/{name}", id => Post("/fhir", Bundle("transaction", Entry(Binary(patch), "PATCH", $"Patient/{id}"))));

        for (var i = 0; i < FhirPathSyntaxErrors.Length; i++)
        {
            var path = FhirPathSyntaxErrors[i];
            cases.Add($"fhirpath-syntax/delete/{i:00}", id => PathPatch(id, Operation("delete", path)));
            if (i < 2) cases.Add($"fhirpath-syntax/replace/{i:00}", id => PathPatch(id, Operation("replace", path, ValuePart("valueString", "x"))));
        }

        string Integer(string name, int value) => "{\"name\":\"" + name + "\",\"valueInteger\":" + value + "}";
        var structural = new (string Name, string Parameters)[]
        {
            ("no-type", Parameters("{\"name\":\"operation\",\"part\":[" + Part("path", "valueString", "Patient.active") + "]}")),
            ("unknown-type", Operation("frobnicate", "Patient.active")),
            ("no-path", Operation("delete", null)),
            ("no-operation", """{"resourceType":"Parameters"}"""),
            ("operation-without-parts", Parameters("{\"name\":\"operation\",\"valueString\":\"x\"}")),
            ("patient-body", Good),
            ("insert-negative-index", Operation("insert", "Patient.name", Integer("index", -1), ValuePart("valueString", "x"))),
            ("insert-not-a-list", Operation("insert", "Patient.active", Integer("index", 0), ValuePart("valueBoolean", "x"))),
            ("move-source-out-of-range", Operation("move", "Patient.name", Integer("source", 99), Integer("destination", 0))),
            ("replace-wrong-type", Operation("replace", "Patient.active", ValuePart("valueString", "x"))),
            ("replace-root", Operation("replace", "Patient", ValuePart("valueString", "x"))),
            ("delete-root", Operation("delete", "Patient")),
            ("add-without-name", Operation("add", "Patient", ValuePart("valueString", "x"))),
        };
        foreach (var (name, parameters) in structural)
            cases.Add($"fhirpath/{name}", id => PathPatch(id, parameters));
        cases.Add("fhirpath/stale-if-match", id => PathPatch(id, Operation("delete", "Patient.photo"), ("If-Match", "W/\"999\"")));
        cases.Add("json-patch/absent-resource", _ => JsonPatch(Absent, """[{"op":"remove","path":"/active"}]"""));
        return cases;
    }

    // ---------------------------------------------------------------- 6. search parameters

    private static string Cursor(string json) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Cases SearchCases()
    {
        var cases = new Cases(Search);
        void Find(string id, string type, params (string Name, string Value)[] pairs) =>
            cases.Add(id, _ => Get($"/fhir/{type}?{Query(pairs)}"));
        void FindPosted(string id, string type, params (string Name, string Value)[] pairs) =>
            cases.Add(id, _ => Send(HttpMethod.Post, $"/fhir/{type}/_search", Form(pairs)));
        void Maybe(string id, string type, params (string Name, string Value)[] pairs) =>
            cases.Add(id, _ => Get($"/fhir/{type}?{Query(pairs)}"), Expect.NoServerError);

        string[] dates =
        [
            "2020-01-01T00:00:00+99:99", "ge2020-13", "2020-02-30", "eq", "xx2020", "9999999", "-0001", "2020-01-01T25:00",
            "2020-01-01T00:00:00.", "2020-01-01T00:00:00Z+01:00", "0000-01-01", "ge0001-01-01T00:00:00+14:00",
        ];
        for (var i = 0; i < dates.Length; i++)
        {
            Find($"date/birthdate={dates[i]}", "Patient", ("birthdate", dates[i]));
            if (i % 6 == 0) FindPosted($"date-posted/_lastUpdated={dates[i]}", "Patient", ("_lastUpdated", dates[i]));
        }
        foreach (var n in new[] { "1e999999", "NaN", "lt", "1e29", "1.00000000000000000000000000001", "ltgt5" })
            Find($"number/probability={n}", "RiskAssessment", ("probability", n));
        foreach (var q in new[] { "5|||", "5|a", "|||", "abc|http://unitsofmeasure.org|mg", "NaN||mg", "1e999999|http://unitsofmeasure.org|mg" })
            Find($"quantity/value-quantity={q}", "Observation", ("value-quantity", q));

        (string Name, string Value)[] garbage =
        [
            ("general-practitioner:NotAType", "1"), ("general-practitioner.unknown", "x"), ("general-practitioner:Practitioner.unknown", "x"),
            ("general-practitioner:NotAType.name", "x"), ("gender.name", "x"), ("organization.partof.partof.unknown", "x"),
            ("organization.partof.partof.partof.partof.partof.name", "x"),
            ("_has:Observation", "1"), ("_has:X:y:z", "1"), ("_has:Observation:subject:unknown", "1"), ("_has:Observation:code:code", "1"),
            ("_has:Observation:subject", "1"), ("_has:", "1"), ("_has:Observation:subject:_has:X:y:z", "1"),
            ("_id:exact", "1"), ("name:foo", "x"), ("gender:exact", "male"), ("birthdate:exact", "2020"), ("name:", "x"),
            ("name:missing", "maybe"), ("gender:missing", "1"), ("identifier:of-type", "x"), ("family", ""), ("family", ",,,"), ("_id", ""),
            ("_count", "-1"), ("_count", "abc"), ("_count", "99999999999"), ("_count", "1.5"),
            ("_sort", "-"), ("_sort", "unknown"), ("_sort", "name:asc"), ("_sort", "-unknown"), ("_sort", "_text"),
            ("_sort", "name,given,family,birthdate,gender,address,phone,email,telecom"),
            ("_include", "bad"), ("_include", "Patient"), ("_include", "Patient:"), ("_include", "Patient:name"),
            ("_include", "Patient:general-practitioner:NotAType"), ("_include", "Observation:subject"), ("_include", "NotAType:x"),
            ("_include", "Patient:general-practitioner:Practitioner:x"), ("_revinclude", "bad"), ("_revinclude", "Observation:code"),
            ("_include:iterate", "x:y"),
            ("_cursor", "garbage"), ("_cursor", ""), ("_cursor", "!!!!"), ("_cursor", Cursor("[]")), ("_cursor", Cursor("[true]")),
            ("_cursor", Cursor("[\"x\"]")), ("_cursor", Cursor("[true,\"x\",{}]")), ("_cursor", Cursor("[true,\"x\",[1]]")),
            ("_total", "maybe"), ("_total", ""), ("_summary", "x"), ("_summary", ""), ("_elements", "na\0me"), ("_pretty", "yes"),
        ];
        for (var i = 0; i < garbage.Length; i++)
        {
            var (name, value) = garbage[i];
            Find($"param/{i:00}-{name}", "Patient", (name, value));
            if (i % 10 == 0) FindPosted($"param-posted/{i:00}-{name}", "Patient", (name, value));
        }
        Find("param/subject:NotAType", "Observation", ("subject:NotAType", "1"));
        Find("param/composite-without-dollar", "Observation", ("code-value-quantity", "abc"));
        Find("param/composite-two-dollars", "Observation", ("code-value-quantity", "a$b$c"));
        Find("param/summary-count-with-elements", "Patient", ("_summary", "count"), ("_elements", "id"));
        Find("param/include-21", "Patient", [.. Enumerable.Range(0, 21).Select(_ => ("_include", "Patient:general-practitioner"))]);

        // cursors that parse but belong to another search (sort keys and their types differ)
        Find("cursor/sort-count-differs", "Patient", ("_sort", "birthdate"), ("_cursor", Cursor("[true,\"x\",[]]")));
        Find("cursor/sort-value-not-a-date", "Patient", ("_sort", "birthdate"), ("_cursor", Cursor("[true,\"x\",[\"not-a-date\"]]")));
        Find("cursor/lastUpdated-value-garbage", "Patient", ("_sort", "_lastUpdated"), ("_cursor", Cursor("[true,\"x\",[\"garbage\"]]")));
        Find("cursor/key-with-nul", "Patient", ("_sort", "birthdate"), ("_cursor", Cursor("[true,\"x\\u0000\",[\"2020-01-01T00:00:00Z\"]]")));
        Maybe("cursor/foreign-key", "Patient", ("_cursor", Cursor("[true,\"x\",[]]")));
        Maybe("cursor/null-key", "Patient", ("_cursor", Cursor("[false,null,[]]")));

        // size: more criteria than 40, more OR values than 100, long values
        (string, string)[] Criteria(int n) => [.. Enumerable.Range(0, n).Select(i => ("family", $"a{i}"))];
        Find("many/41-criteria", "Patient", Criteria(41));
        Find("many/300-criteria", "Patient", Criteria(300));
        Find("many/2000-criteria", "Patient", Criteria(2000));
        FindPosted("many/2000-criteria-posted", "Patient", Criteria(2000));
        Find("many/101-or-values", "Patient", ("family", string.Join(",", Enumerable.Range(0, 101).Select(i => $"a{i}"))));
        Find("many/1000-or-values", "Patient", ("family", string.Join(",", Enumerable.Range(0, 1000).Select(i => $"a{i}"))));
        foreach (var (name, value) in new[]
                 {
                     ("birthdate", new string('2', 3000)), ("_count", new string('1', 3000)), ("_sort", new string('a', 3000)),
                     ("_include", "Patient:" + new string('a', 3000)),
                 })
            Find($"long/{name}", "Patient", (name, value));
        Find("long/modifier", "Patient", ("name:" + new string('x', 3000), "x"));

        foreach (var types in new[] { "NotAType", "Patient,NotAType", "patient", "Resource", "Parameters" })
            cases.Add($"system/_type={types}", _ => Get("/fhir?" + Query(("_type", types))));
        cases.Add("system/unknown-modifier", _ => Get("/fhir?" + Query(("_type", "Patient"), ("name:foo", "x"))));

        foreach (var (name, value) in new[] { ("_count", "0"), ("_count", "abc"), ("_since", "garbage"), ("_type", "NotAType"), ("_after", "a\0") })
            cases.Add($"everything/{name}={value.Replace("\0", "%00")}", id => Get($"/fhir/Patient/{id}/$everything?" + Query((name, value))));

        cases.Add("history/type-count-negative", _ => Get("/fhir/Patient/_history?_count=-1"));
        cases.Add("history/instance-cursor-garbage", id => Get($"/fhir/Patient/{id}/_history?_cursor=-1"));
        cases.Add("history/system-count-huge", _ => Get("/fhir/_history?_count=99999999999"));
        cases.Add("history/system-since-month-13", _ => Get("/fhir/_history?_since=2020-13-01"));

        // values a server may read as plain (if odd) searches
        Maybe("maybe/identifier-many-bars", "Patient", ("identifier", "a|b|c"));
        Maybe("maybe/reference-type-only", "Patient", ("general-practitioner", "Practitioner/"));
        Maybe("maybe/subject-type-only", "Observation", ("subject", "Patient/"));
        return cases;
    }

    // ---------------------------------------------------------------- 7. headers

    private static Cases HeaderCases()
    {
        var cases = new Cases(Headers);
        HttpRequestMessage Update(string id, params (string Name, string Value)[] headers) => Put($"/fhir/Patient/{id}", WithId(SubjectJson, id), headers);
        const string removePhoto = """[{"op":"remove","path":"/photo"}]""";

        string[] ifMatch = ["W/\"x\"", "\"99999999999999999999\"", "*", "W/", "\"\"", "W/\"1", "seven", "W/\"1\", W/\"2\""];
        for (var i = 0; i < ifMatch.Length; i++)
        {
            var value = ifMatch[i];
            cases.Add($"if-match/update/{i}", id => Update(id, ("If-Match", value)));
            if (i < 4) cases.Add($"if-match/delete/{i}", _ => Send(HttpMethod.Delete, $"/fhir/Patient/{Absent}", null, ("If-Match", value)));
            if (i < 3) cases.Add($"if-match/patch/{i}", id => JsonPatch(id, removePhoto, ("If-Match", value)));
        }
        foreach (var (name, value) in new[] { ("garbage", "garbage"), ("weak-garbage", "W/\"x\""), ("nul", "\"\0\"") })
            cases.Add($"if-none-match/read/{name}", id => Get($"/fhir/Patient/{id}", ("If-None-Match", value)), Expect.NoServerError);
        foreach (var (name, value) in new[]
                 {
                     ("year-9999", "Fri, 31 Dec 9999 23:59:59 GMT"), ("year-0001", "Mon, 01 Jan 0001 00:00:00 GMT"),
                     ("garbage", "garbage"), ("iso-max-negative-offset", "9999-12-31T23:59:59-14:00"),
                 })
            cases.Add($"if-modified-since/read/{name}", id => Get($"/fhir/Patient/{id}", ("If-Modified-Since", value)), Expect.NoServerError);

        string[] ifNoneExist =
        [
            "identifier", "=", "&&&", "%zz", "name=a%00b", "_id=", "name:foo=x", "_has:X=1",
            string.Join("&", Enumerable.Range(0, 41).Select(i => $"family=a{i}")),
        ];
        for (var i = 0; i < ifNoneExist.Length; i++)
        {
            var value = ifNoneExist[i];
            cases.Add($"if-none-exist/create/{i}", _ => Post("/fhir/Patient", Good, ("If-None-Exist", value)));
            if (i % 2 == 0)
                cases.Add($"if-none-exist/transaction/{i}", _ => Post("/fhir", Bundle("transaction", Entry(Good, "POST", "Patient", ",\"ifNoneExist\":\"" + value + "\""))));
        }
        cases.Add("if-none-exist/create/raw-nul", _ => Post("/fhir/Patient", Good, ("If-None-Exist", "name=a\0b")));

        foreach (var (name, value) in new[]
                 {
                     ("return-garbage", "return=garbage"), ("semicolons", ";;;;"), ("return-empty", "return="),
                     ("handling-twice", "handling=strict; handling=lenient"), ("8k", "respond-async, " + Repeat("x=y; ", 1600)),
                 })
            cases.Add($"prefer/create/{name}", _ => Post("/fhir/Patient", Good, ("Prefer", value)), Expect.NoServerError);

        string[] accept =
        [
            "text/plain", "garbage", "application/fhir+json;q=0", "image/png, text/html", "application/fhir+json; fhirVersion=3.0",
            "application/fhir+xml; fhirVersion=1.0, text/html", "application/" + new string('x', 3000),
        ];
        for (var i = 0; i < accept.Length; i++)
        {
            var value = accept[i];
            cases.Add($"accept/metadata/{i}", _ => Get("/fhir/metadata", ("Accept", value)));
            if (i % 2 == 0) cases.Add($"accept/create/{i}", _ => Post("/fhir/Patient", Good, ("Accept", value)));
            if (i < 3) cases.Add($"accept/read/{i}", id => Get($"/fhir/Patient/{id}", ("Accept", value)));
        }

        string?[] contentTypes =
        [
            "text/plain", "application/x-www-form-urlencoded", "garbage", "application/fhir+jsonx", "multipart/form-data; boundary=x",
            "application/octet-stream", null,
        ];
        for (var i = 0; i < contentTypes.Length; i++)
        {
            var type = contentTypes[i];
            var label = type is null ? "none" : i.ToString();
            cases.Add($"content-type/create/{label}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(Good, type)));
            cases.Add($"content-type/patch/{label}", id => Send(HttpMethod.Patch, $"/fhir/Patient/{id}", Text(removePhoto, type)));
            if (i < 2) cases.Add($"content-type/update/{label}", id => Send(HttpMethod.Put, $"/fhir/Patient/{id}", Text(WithId(SubjectJson, id), type)));
        }
        cases.Add("content-type/transaction/text", _ => Send(HttpMethod.Post, "/fhir", Text(Bundle("transaction", GoodEntry), "text/plain")));
        cases.Add("content-type/search-post-json", _ => Send(HttpMethod.Post, "/fhir/Patient/_search", Text("name=x")));

        foreach (var format in new[] { "garbage", "html", "text/plain", "js\0on" })
        {
            var q = Query(("_format", format));
            var label = format.Replace("\0", "%00");
            cases.Add($"_format/metadata/{label}", _ => Get("/fhir/metadata?" + q));
            cases.Add($"_format/create/{label}", _ => Post("/fhir/Patient?" + q, Good));
        }
        cases.Add("_pretty/metadata", _ => Get("/fhir/metadata?_pretty=yes"));
        cases.Add("_pretty/read", id => Get($"/fhir/Patient/{id}?_pretty=1"));
        cases.Add("_pretty/create", _ => Post("/fhir/Patient?_pretty=on", Good));

        // A broken Authorization header replaces the test client's good token: 401, never a write.
        foreach (var (name, value) in new[]
                 {
                     ("space", "Bearer has space"), ("nul", "Bearer nul\0byte"), ("200-chars", "Bearer " + new string('a', 200)),
                     ("e-acute", "Bearer caf\u00e9"), ("basic", "Basic YWRtaW46eA=="), ("no-scheme", "eyJhbGciOiJub25lIn0.e30."),
                     ("alg-none", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhZG1pbiJ9."), ("soh", "Bearer a\u0001"),
                 })
        {
            cases.Add($"authorization/create/{name}", _ => Post("/fhir/Patient", Good, (Authorization, value)));
            if (name is "space" or "nul" or "200-chars")
                cases.Add($"authorization/transaction/{name}", _ => Post("/fhir", Bundle("transaction", GoodEntry), (Authorization, value)));
        }
        cases.Add("authorization/patch/space", id => JsonPatch(id, removePhoto, (Authorization, "Bearer has space")));
        cases.Add("authorization/update/nul", id => Update(id, (Authorization, "Bearer \0")));
        return cases;
    }

    private const string Authorization = "Authorization";

    // ---------------------------------------------------------------- 9. wrong endpoints

    private static Cases EndpointCases()
    {
        var cases = new Cases(Endpoints);
        const string parameters = """{"resourceType":"Parameters","id":"p1","parameter":[{"name":"x","valueString":"y"}]}""";
        const string observation = """{"resourceType":"Observation","status":"final","code":{"text":"x"}}""";
        cases.Add("parameters/create", _ => Post("/fhir/Parameters", parameters));
        cases.Add("parameters/update", _ => Put("/fhir/Parameters/p1", parameters));
        cases.Add("parameters/read", _ => Get("/fhir/Parameters/p1"));
        cases.Add("parameters/search", _ => Get("/fhir/Parameters"));
        cases.Add("parameters/in-transaction", _ => Post("/fhir", Bundle("transaction", Entry(parameters, "POST", "Parameters"))));

        cases.Add("body-type/create-observation-as-patient", _ => Post("/fhir/Patient", observation));
        cases.Add("body-type/update-patient-with-observation", id => Put($"/fhir/Patient/{id}", observation.Replace("{\"resourceType\":\"Observation\",", $"{{\"resourceType\":\"Observation\",\"id\":\"{id}\",")));
        cases.Add("body-type/update-observation-with-patient", _ => Put("/fhir/Observation/hostile-obs", WithId(Good, "hostile-obs")));
        cases.Add("body-type/create-bundle-as-patient", _ => Post("/fhir/Patient", Bundle("transaction", GoodEntry)));
        cases.Add("body-type/create-outcome-as-patient", _ => Post("/fhir/Patient", """{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}"""));
        cases.Add("body-type/everything-post-patient", id => Post($"/fhir/Patient/{id}/$everything", Good));
        cases.Add("body-type/everything-post-bad-count", id => Post($"/fhir/Patient/{id}/$everything", Parameters(Part("_count", "valueString", "abc"))));
        cases.Add("body-type/everything-post-no-value", id => Post($"/fhir/Patient/{id}/$everything", Parameters("{\"name\":\"_count\",\"part\":[" + Part("x", "valueString", "y") + "]}")));

        // A NUL in the URL path (%00) never reaches the application: Kestrel refuses it with a bare 400 and the test
        // host refuses to send it (README, Limits). Control characters other than NUL do arrive, and are tested.
        string[] types = ["NotAType", "patient", "PATIENT", "Resource", "DomainResource", "Patient%20", "Pat%01ient", "%F0%9F%92%A9", new string('X', 200)];
        for (var i = 0; i < types.Length; i++)
        {
            var type = types[i];
            var label = type.Length > 40 ? "200-X" : type;
            cases.Add($"type/search/{label}", _ => Get($"/fhir/{type}"));
            if (i % 3 == 0)
            {
                cases.Add($"type/create/{label}", _ => Post($"/fhir/{type}", Good));
                cases.Add($"type/read/{label}", _ => Get($"/fhir/{type}/1"));
            }
        }

        cases.Add("method/post-instance", _ => Post("/fhir/Patient/1", Good));
        cases.Add("method/patch-type", _ => Send(HttpMethod.Patch, "/fhir/Patient", Text("[]", JsonPatchType)));
        cases.Add("method/post-history", id => Post($"/fhir/Patient/{id}/_history", Good));
        cases.Add("method/delete-version", id => Send(HttpMethod.Delete, $"/fhir/Patient/{id}/_history/1"));
        cases.Add("method/trace-metadata", _ => Send(HttpMethod.Trace, "/fhir/metadata"));
        cases.Add("method/put-type-without-criteria", _ => Put("/fhir/Patient", Good));
        cases.Add("method/delete-type-without-criteria", _ => Send(HttpMethod.Delete, "/fhir/Patient"));

        (string Name, string Segment)[] ids =
        [
            ("bang", "a_b!"), ("space", "a%20b"), ("us", "a%1Fb"), ("soh", "a%01b"), ("65-chars", new string('a', 65)),
            ("1000-chars", new string('a', 1000)), ("e-acute", "%C3%A9"), ("encoded-slash", "a%2Fb"),
        ];
        foreach (var (name, segment) in ids)
        {
            var raw = Esc(Uri.UnescapeDataString(segment));
            cases.Add($"id/read/{name}", _ => Get($"/fhir/Patient/{segment}"));
            if (name is "bang" or "us" or "65-chars" or "e-acute")
                cases.Add($"id/update/{name}", _ => Put($"/fhir/Patient/{segment}", WithId(Good, raw)));
            if (name is "us" or "65-chars" or "soh")
            {
                cases.Add($"id/delete/{name}", _ => Send(HttpMethod.Delete, $"/fhir/Patient/{segment}"));
                cases.Add($"id/everything/{name}", _ => Get($"/fhir/Patient/{segment}/$everything"));
                cases.Add($"id/history/{name}", _ => Get($"/fhir/Patient/{segment}/_history"));
                // a compartment search for an id that cannot exist may fairly be an empty 200; one with a control character may not
                if (name != "65-chars") cases.Add($"id/compartment/{name}", _ => Get($"/fhir/Patient/{segment}/Observation"));
            }
        }
        foreach (var version in new[] { "0", "-1", "99999999999", "1.0", "%01", "abc" })
            cases.Add($"version/{version}", id => Get($"/fhir/Patient/{id}/_history/{version}"));
        cases.Add("compartment/not-patient", id => Get($"/fhir/Observation/{id}/Observation"));
        cases.Add("compartment/unknown-type", id => Get($"/fhir/Patient/{id}/NotAType"));
        cases.Add("compartment/not-in-compartment", id => Get($"/fhir/Patient/{id}/Practitioner"));
        return cases;
    }

    // ---------------------------------------------------------------- 8. long values (stored, not refused)

    private static string Letters(int length, int seed)
    {
        var random = new Random(seed);
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = (char)('a' + random.Next(26));
        return new string(chars);
    }

    /// <summary>Distinct words (base-26 numerals) up to <paramref name="length"/> characters.</summary>
    private static string DistinctWords(int length)
    {
        var sb = new StringBuilder(length + 16);
        for (var i = 0; sb.Length < length; i++)
        {
            var word = new StringBuilder("w");
            for (var n = i; n > 0; n /= 26) word.Append((char)('a' + n % 26));
            sb.Append(word).Append(' ');
        }
        return sb.ToString(0, length).TrimEnd();
    }

    private static JsonNode? At(JsonObject resource, params object[] path)
    {
        JsonNode? node = resource;
        foreach (var step in path) node = step is int i ? node?.AsArray().ElementAtOrDefault(i) : node?[(string)step];
        return node;
    }

    private static string Patient(string family, string more = "") =>
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family + "\"}]" + more + "}";

    public static readonly IReadOnlyList<LongValueCase> LongValues =
    [
        new("family-3000", () =>
        {
            var family = Letters(3000, 1) + Guid.NewGuid().ToString("N");
            return new LongValue(Patient(family), family, r => At(r, "name", 0, "family")?.GetValue<string>() == family);
        }),
        new("family-100000", () =>
        {
            var family = Guid.NewGuid().ToString("N") + Letters(100_000, 2);
            return new LongValue(Patient(family), family, r => At(r, "name", 0, "family")?.GetValue<string>() == family);
        }),
        new("given-3000", () =>
        {
            var (family, given) = ("Given" + Guid.NewGuid().ToString("N"), Letters(3000, 3));
            return new LongValue(Patient(family).Replace("\"}]", "\",\"given\":[\"" + given + "\"]}]"), family,
                r => At(r, "name", 0, "given", 0)?.GetValue<string>() == given);
        }),
        new("identifier-value-3000", () =>
        {
            var (family, value) = ("Ident" + Guid.NewGuid().ToString("N"), Letters(3000, 4));
            return new LongValue(Patient(family, ",\"identifier\":[{\"system\":\"urn:hostile\",\"value\":\"" + value + "\"}]"), family,
                r => At(r, "identifier", 0, "value")?.GetValue<string>() == value);
        }),
        new("identifier-system-3000", () =>
        {
            var (family, system) = ("System" + Guid.NewGuid().ToString("N"), "http://hostile.example/" + Letters(3000, 5));
            return new LongValue(Patient(family, ",\"identifier\":[{\"system\":\"" + system + "\",\"value\":\"x\"}]"), family,
                r => At(r, "identifier", 0, "system")?.GetValue<string>() == system);
        }),
        new("narrative-1MB-distinct-words", () =>
        {
            var (family, words) = ("Narrative" + Guid.NewGuid().ToString("N"), DistinctWords(1_000_000));
            var div = "<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">" + words + "</div>";
            var last = words[(words.LastIndexOf(' ') + 1)..];
            return new LongValue(Patient(family, ",\"text\":{\"status\":\"generated\",\"div\":\"" + div + "\"}"), family,
                r => At(r, "text", "div")?.GetValue<string>() is { Length: > 1_000_000 } read && read.Contains(" " + last + "</div>"));
        }),
    ];
}
