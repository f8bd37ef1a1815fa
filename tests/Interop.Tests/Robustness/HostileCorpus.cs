using System.Text;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Robustness;

/// <summary>What a hostile case must get back.</summary>
public enum Expect
{
    /// <summary>A 4xx whose body is an OperationOutcome in JSON.</summary>
    ClientError,
    /// <summary>
    /// A batch/transaction-response (200) where entry <see cref="HostileCase.BadEntry"/> is 4xx and every other entry
    /// 2xx; or, when the bundle as a whole is refused, a 4xx OperationOutcome.
    /// </summary>
    EntryError,
    /// <summary>An input with more than one defensible answer: anything but a 5xx, and a 4xx is still an OperationOutcome.</summary>
    NoServerError,
}

/// <summary>One hostile request; Build gets the id of an existing Patient (the subject) and makes the request.</summary>
public sealed record HostileCase(string Id, string Category, Func<string, HttpRequestMessage> Build, Expect Expect = Expect.ClientError, int BadEntry = 1)
{
    public override string ToString() => Id;
}

/// <summary>
/// A generated corpus of hostile input, per category: fields × characters × endpoints. Categories 1-4 are here,
/// 5-9 (patches, search, headers, endpoints, long values) in HostileCorpus.More.cs.
/// </summary>
public static partial class HostileCorpus
{
    public const string ControlChars = "ControlChars", Encodings = "Encodings", Shapes = "Shapes", Nesting = "Nesting",
        Patches = "Patches", Search = "Search", Headers = "Headers", Endpoints = "Endpoints";

    public static readonly string[] Categories = [ControlChars, Encodings, Shapes, Nesting, Patches, Search, Headers, Endpoints];

    private static readonly Lazy<List<HostileCase>> all = new(() =>
    [
        .. ControlCharacterCases(), .. EncodingCases(), .. ShapeCases(), .. NestingCases(),
        .. PatchCases(), .. SearchCases(), .. HeaderCases(), .. EndpointCases(),
    ]);

    private static readonly Lazy<Dictionary<string, HostileCase>> byId =
        new(() => all.Value.GroupBy(c => c.Id).ToDictionary(g => g.Key, g => g.First()));

    public static IReadOnlyList<HostileCase> All => all.Value;

    /// <summary>By id; a duplicate id keeps its first case (the count test reports duplicates).</summary>
    public static IReadOnlyDictionary<string, HostileCase> ById => byId.Value;

    public static TheoryData<string> Ids(string category)
    {
        var data = new TheoryData<string>();
        foreach (var c in All.Where(c => c.Category == category)) data.Add(c.Id);
        return data;
    }

    /// <summary>The existing Patient that reads, updates and patches aim at (created once per server).</summary>
    public const string SubjectJson =
        """{"resourceType":"Patient","active":true,"identifier":[{"system":"urn:hostile","value":"subject"}],"name":[{"family":"Subject","given":["Hostile"]}],"birthDate":"1950-01-01","telecom":[{"system":"phone","value":"111"}]}""";

    private const string Good = """{"resourceType":"Patient","active":true,"name":[{"family":"Good"}]}""";
    private const string FhirJson = FhirTest.Json, FhirXml = "application/fhir+xml", JsonPatchType = "application/json-patch+json";
    private const string Nul = "\\u0000"; // as a JSON escape
    private const string Absent = "hostile-absent";

    private sealed class Cases(string category) : List<HostileCase>
    {
        public void Add(string id, Func<string, HttpRequestMessage> build, Expect expect = Expect.ClientError, int badEntry = 1) =>
            Add(new HostileCase($"{category}/{id}", category, build, expect, badEntry));
    }

    // ---------------------------------------------------------------- requests

    private static HttpRequestMessage Send(HttpMethod method, string url, HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        foreach (var (name, value) in headers)
            if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content?.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    private static HttpRequestMessage Post(string url, string json, params (string Name, string Value)[] headers) =>
        FhirTest.Request(HttpMethod.Post, url, json, headers);

    private static HttpRequestMessage Put(string url, string json, params (string Name, string Value)[] headers) =>
        FhirTest.Request(HttpMethod.Put, url, json, headers);

    private static HttpRequestMessage Get(string url, params (string Name, string Value)[] headers) =>
        FhirTest.Request(HttpMethod.Get, url, null, headers);

    private static HttpRequestMessage JsonPatch(string id, string patch, params (string Name, string Value)[] headers) =>
        Send(HttpMethod.Patch, $"/fhir/Patient/{id}", Text(patch, JsonPatchType), headers);

    private static HttpRequestMessage PathPatch(string id, string parameters, params (string Name, string Value)[] headers) =>
        Send(HttpMethod.Patch, $"/fhir/Patient/{id}", Text(parameters), headers);

    /// <summary>Raw bytes with exactly this Content-Type (none when null), unlike StringContent which validates it.</summary>
    private static HttpContent Bytes(byte[] body, string? contentType = FhirJson)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static HttpContent Text(string body, string? contentType = FhirJson) => Bytes(Encoding.UTF8.GetBytes(body), contentType);

    private static HttpContent Form(params (string Name, string Value)[] pairs) =>
        new FormUrlEncodedContent(pairs.Select(p => new KeyValuePair<string?, string?>(p.Name, p.Value)));

    private static string Query(params (string Name, string Value)[] pairs) =>
        string.Join("&", pairs.Select(p => Uri.EscapeDataString(p.Name) + "=" + Uri.EscapeDataString(p.Value)));

    // ---------------------------------------------------------------- bodies

    private static string Fill(string template, string value) => template.Replace("@V", value);

    /// <summary>A JSON string's content: quotes, backslashes and control characters escaped.</summary>
    private static string Esc(string raw)
    {
        var sb = new StringBuilder();
        foreach (var ch in raw)
            sb.Append(ch switch { '"' => "\\\"", '\\' => "\\\\", < ' ' => $"\\u{(int)ch:x4}", _ => ch.ToString() });
        return sb.ToString();
    }

    private static string U(char ch) => $"U+{(int)ch:X4}";

    private static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    /// <summary>Puts "id" first in a Patient JSON made by the templates here (for PUT /Patient/{id}).</summary>
    private static string WithId(string json, string id)
    {
        const string head = "{\"resourceType\":\"Patient\",";
        return json.StartsWith(head, StringComparison.Ordinal) ? head + "\"id\":\"" + id + "\"," + json[head.Length..] : json;
    }

    /// <summary>The template's bytes with <paramref name="raw"/> in place of @V (for invalid UTF-8).</summary>
    private static byte[] Splice(string template, byte[] raw)
    {
        var at = template.IndexOf("@V", StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(template[..at]), .. raw, .. Encoding.UTF8.GetBytes(template[(at + 2)..])];
    }

    private static string Bundle(string type, params string[] entries) =>
        "{\"resourceType\":\"Bundle\",\"type\":\"" + type + "\",\"entry\":[" + string.Join(",", entries) + "]}";

    private static string Entry(string? resource, string method, string url, string moreRequest = "") =>
        "{" + (resource is null ? "" : "\"resource\":" + resource + ",") + "\"request\":{\"method\":\"" + method + "\",\"url\":\"" + url + "\"" + moreRequest + "}}";

    private static string GoodEntry => Entry(Good, "POST", "Patient");

    private static string Parameters(params string[] parameters) =>
        "{\"resourceType\":\"Parameters\",\"parameter\":[" + string.Join(",", parameters) + "]}";

    private static string Part(string name, string valueKey, string escapedValue) =>
        "{\"name\":\"" + name + "\",\"" + valueKey + "\":\"" + escapedValue + "\"}";

    private static string ValuePart(string valueKey, string escapedValue) => Part("value", valueKey, escapedValue);

    /// <summary>A FHIRPath Patch with one operation; <paramref name="path"/> is raw text, <paramref name="more"/> ready JSON parts.</summary>
    private static string Operation(string type, string? path, params string[] more)
    {
        var parts = new List<string> { Part("type", "valueCode", type) };
        if (path is not null) parts.Add(Part("path", "valueString", Esc(path)));
        parts.AddRange(more);
        return Parameters("{\"name\":\"operation\",\"part\":[" + string.Join(",", parts) + "]}");
    }

    private static string XmlPatient(string inner) => "<Patient xmlns=\"http://hl7.org/fhir\">" + inner + "</Patient>";

    private static string XmlTransaction(string resource) =>
        "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"transaction\"/><entry><resource>" + resource +
        "</resource><request><method value=\"POST\"/><url value=\"Patient\"/></request></entry></Bundle>";

    // ---------------------------------------------------------------- 1. NUL and control characters

    /// <summary>Patient JSON with @V at one field: the value (JSON-escaped) goes there.</summary>
    private static readonly (string Field, string Template)[] Fields =
    [
        ("name.family", """{"resourceType":"Patient","name":[{"family":"@V"}]}"""),
        ("name.given", """{"resourceType":"Patient","name":[{"given":["@V"]}]}"""),
        ("identifier.value", """{"resourceType":"Patient","identifier":[{"system":"urn:hostile","value":"@V"}]}"""),
        ("identifier.system", """{"resourceType":"Patient","identifier":[{"system":"urn:hostile:@V","value":"x"}]}"""),
        ("id", """{"resourceType":"Patient","id":"@V"}"""),
        ("meta.tag.code", """{"resourceType":"Patient","meta":{"tag":[{"system":"urn:hostile","code":"@V"}]}}"""),
        ("extension.url", """{"resourceType":"Patient","extension":[{"url":"http://hostile.example/@V","valueString":"x"}]}"""),
        ("telecom.value", """{"resourceType":"Patient","telecom":[{"system":"phone","value":"@V"}]}"""),
        ("address.line", """{"resourceType":"Patient","address":[{"line":["@V"]}]}"""),
        ("birthDate", """{"resourceType":"Patient","birthDate":"1950@V-01-01"}"""),
        ("text.div", """{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">@V</div>"}}"""),
    ];

    private static readonly char[] BadChars = ['\u0000', '\u001F'];

    /// <summary>Search parameters with @V where the bad character goes.</summary>
    private static readonly (string Name, string Value)[] QueryTemplates =
    [
        ("name", "a@Vb"), ("family", "@V"), ("identifier", "urn:x|a@V"), ("identifier", "urn:x@V|a"), ("_id", "a@V"),
        ("birthdate", "19@V50"), ("_sort", "na@Vme"), ("_include", "Patient:gen@Veral-practitioner"), ("gender", "ma@Vle"),
        ("_lastUpdated", "gt20@V20"), ("general-practitioner", "Practitioner/@V"), ("name:exact", "a@V"),
    ];

    /// <summary>Parameter names with @V; Strict sends Prefer: handling=strict (an unknown name is otherwise only a warning).</summary>
    private static readonly (string Name, string Value, bool Strict)[] NameTemplates =
    [
        ("name:exa@Vct", "x", false), ("general-practitioner.na@Vme", "x", false), ("_has:Obser@Vvation:subject:code", "x", false),
        ("_has:Observation:subject:co@Vde", "x", false), ("na@Vme", "x", true), ("_so@Vrt", "x", true), ("bi@Vrthdate:missing", "true", true),
    ];

    private static Cases ControlCharacterCases()
    {
        var cases = new Cases(ControlChars);
        for (var i = 0; i < Fields.Length; i++)
        {
            var (field, template) = Fields[i];
            foreach (var ch in BadChars)
            {
                var json = Fill(template, "a" + Esc(ch.ToString()) + "b");
                cases.Add($"create/{field}/{U(ch)}", _ => Post("/fhir/Patient", json));
            }
            // every field is created with each character; the other positions take every other field, with NUL
            var nul = Fill(template, "a" + Nul + "b");
            if (i % 2 == 0 && field != "id") cases.Add($"update/{field}", id => Put($"/fhir/Patient/{id}", WithId(nul, id)));
            if (i % 2 == 0) cases.Add($"transaction/{field}", _ => Post("/fhir", Bundle("transaction", GoodEntry, Entry(nul, "POST", "Patient"))));
            if (i % 2 == 1 || i == 0)
                cases.Add($"batch/{field}", id => Post("/fhir", Bundle("batch", GoodEntry, Entry(nul, "POST", "Patient"), Entry(null, "GET", $"Patient/{id}"))),
                    Expect.EntryError);
        }
        foreach (var (field, template) in Fields.Take(2))
            cases.Add($"create-unescaped/{field}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(Fill(template, "a\u0000b"))));
        foreach (var (field, template) in new[] { Fields[0], Fields[2] })
            cases.Add($"match/{field}", _ => Post("/fhir/Patient/$match", Parameters("{\"name\":\"resource\",\"resource\":" + Fill(template, "a" + Nul) + "}")));

        for (var i = 0; i < QueryTemplates.Length; i++)
        {
            var (name, template) = QueryTemplates[i];
            var tag = $"{i:00}-{name}";
            foreach (var ch in i < 4 ? BadChars : BadChars[..1])
            {
                var value = Fill(template, ch.ToString());
                cases.Add($"search/{tag}/{U(ch)}", _ => Get("/fhir/Patient?" + Query((name, value))));
            }
            var withNul = Fill(template, "\0");
            cases.Add($"search-post/{tag}", _ => Send(HttpMethod.Post, "/fhir/Patient/_search", Form((name, withNul))));
            cases.Add($"if-none-exist/{tag}", _ => Post("/fhir/Patient", Good, ("If-None-Exist", Query((name, withNul)))));
        }

        // request.url of bundle entries (percent-encoded NUL in queries, JSON-escaped NUL in paths)
        foreach (var (name, url) in new[]
                 {
                     ("search-name", "Patient?name=a%00b"), ("search-identifier", "Patient?identifier=urn:x%7Ca%00"),
                     ("search-id", "Patient?_id=%00"), ("read", "Patient/a" + Nul + "b"),
                 })
            cases.Add($"batch-url/{name}", id => Post("/fhir", Bundle("batch", GoodEntry, Entry(null, "GET", url), Entry(null, "GET", $"Patient/{id}"))),
                Expect.EntryError);
        cases.Add("transaction-url/conditional-put", _ => Post("/fhir", Bundle("transaction", Entry(Good, "PUT", "Patient?name=a%00b"))));
        cases.Add("transaction-url/type", _ => Post("/fhir", Bundle("transaction", Entry(Good, "POST", "Pat" + Nul + "ient"))));
        cases.Add("transaction-url/conditional-delete", _ => Post("/fhir", Bundle("transaction", Entry(null, "DELETE", "Patient?_id=a%00"))));
        cases.Add("transaction-url/delete-id", _ => Post("/fhir", Bundle("transaction", Entry(null, "DELETE", "Patient/a" + Nul + "b"))));

        foreach (var (template, value, strict) in NameTemplates)
        {
            var url = "/fhir/Patient?" + Query((Fill(template, "\0"), value));
            cases.Add($"param-name/{Fill(template, "_")}", _ => strict ? Get(url, ("Prefer", "handling=strict")) : Get(url));
        }

        cases.Add("json-patch/family", id => JsonPatch(id, "[{\"op\":\"add\",\"path\":\"/name/0/family\",\"value\":\"a" + Nul + "b\"}]"));
        cases.Add("json-patch/identifier", id => JsonPatch(id, "[{\"op\":\"add\",\"path\":\"/identifier/-\",\"value\":{\"system\":\"urn:x\",\"value\":\"" + Nul + "\"}}]"));
        cases.Add("fhirpath-patch/family", id => PathPatch(id, Operation("replace", "Patient.name.family", ValuePart("valueString", "a" + Nul))));
        cases.Add("fhirpath-patch/birthDate", id => PathPatch(id, Operation("replace", "Patient.birthDate", ValuePart("valueDate", "1950-01-0" + Nul + "1"))));
        return cases;
    }

    // ---------------------------------------------------------------- 2. invalid encodings

    private static readonly (string Name, byte[] Bytes)[] BadBytes =
    [
        ("FF", [0xFF]), ("C0-80", [0xC0, 0x80]), ("E2-82", [0xE2, 0x82]), ("F0-9F-98", [0xF0, 0x9F, 0x98]),
        ("ED-A0-80", [0xED, 0xA0, 0x80]), ("F8-88-80-80-80", [0xF8, 0x88, 0x80, 0x80, 0x80]), ("80", [0x80]), ("E9-20", [0xE9, 0x20]),
    ];

    /// <summary>JSON escapes of unpaired surrogates and non-characters.</summary>
    private static readonly (string Name, string Escape)[] BadEscapes =
    [
        ("D800", "\\ud800"), ("DC00", "\\udc00"), ("D800-x", "\\ud800x"), ("DBFF-DBFF", "\\udbff\\udbff"),
        ("DC00-D800", "\\udc00\\ud800"), ("FFFE", "\\ufffe"), ("FFFF", "\\uffff"),
    ];

    private static Cases EncodingCases()
    {
        var cases = new Cases(Encodings);
        const string family = """{"resourceType":"Patient","name":[{"family":"a@Vb"}]}""";
        const string propertyName = """{"resourceType":"Patient","a@Vb":1}""";
        const string patch = """[{"op":"add","path":"/name/0/family","value":"a@Vb"}]""";
        for (var i = 0; i < BadBytes.Length; i++)
        {
            var (name, bytes) = BadBytes[i];
            cases.Add($"bytes/create/family/{name}", _ => Send(HttpMethod.Post, "/fhir/Patient", Bytes(Splice(family, bytes))));
            if (i % 2 == 1) continue;
            cases.Add($"bytes/create/property-name/{name}", _ => Send(HttpMethod.Post, "/fhir/Patient", Bytes(Splice(propertyName, bytes))));
            cases.Add($"bytes/xml/{name}", _ => Send(HttpMethod.Post, "/fhir/Patient", Bytes(Splice(XmlPatient("<name><family value=\"a@Vb\"/></name>"), bytes), FhirXml)));
            cases.Add($"bytes/update/{name}", id => Send(HttpMethod.Put, $"/fhir/Patient/{id}", Bytes(Splice(WithId(family, id), bytes))));
            cases.Add($"bytes/json-patch/{name}", id => Send(HttpMethod.Patch, $"/fhir/Patient/{id}", Bytes(Splice(patch, bytes), JsonPatchType)));
            cases.Add($"bytes/transaction/{name}", _ => Send(HttpMethod.Post, "/fhir", Bytes(Splice(Bundle("transaction", Entry(family, "POST", "Patient")), bytes))));
        }
        foreach (var (name, escape) in BadEscapes)
        {
            cases.Add($"escape/create/family/{name}", _ => Post("/fhir/Patient", Fill(family, escape)));
            cases.Add($"escape/update/{name}", id => Put($"/fhir/Patient/{id}", WithId(Fill(family, escape), id)));
            cases.Add($"escape/json-patch/{name}", id => JsonPatch(id, Fill(patch, escape)));
            cases.Add($"escape/fhirpath-patch/{name}", id => PathPatch(id, Operation("replace", "Patient.name.family", ValuePart("valueString", escape))));
        }
        foreach (var reference in new[] { "&#x0;", "&#x1F;", "&#xD800;", "&#xDFFF;", "&#xFFFE;", "&#xFFFF;" })
            cases.Add($"xml-char-ref/{reference.Trim('&', '#', ';')}",
                _ => Send(HttpMethod.Post, "/fhir/Patient", Text(XmlPatient("<name><family value=\"a" + reference + "b\"/></name>"), FhirXml)));
        cases.Add("utf16-json", _ => Send(HttpMethod.Post, "/fhir/Patient", Bytes([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Good)])));
        cases.Add("utf32-json", _ => Send(HttpMethod.Post, "/fhir/Patient", Bytes([.. Encoding.UTF32.GetPreamble(), .. Encoding.UTF32.GetBytes(Good)])));
        return cases;
    }

    // ---------------------------------------------------------------- 3. wrong shapes

    private static readonly (string Name, string Body)[] WrongShapes =
    [
        ("array", "[]"), ("string", "\"\""), ("number", "1"), ("null", "null"), ("true", "true"), ("empty-object", "{}"),
        ("Resource", """{"resourceType":"Resource"}"""), ("DomainResource", """{"resourceType":"DomainResource"}"""),
        ("empty-type", """{"resourceType":""}"""), ("numeric-type", """{"resourceType":1}"""), ("null-type", """{"resourceType":null}"""),
        ("array-type", """{"resourceType":["Patient"]}"""), ("object-type", """{"resourceType":{"a":1}}"""),
        ("unknown-type", """{"resourceType":"NotAType"}"""), ("Element", """{"resourceType":"HumanName","family":"x"}"""),
        ("empty-key", """{"":1,"resourceType":"Patient"}"""), ("trailing-comma", """{"resourceType":"Patient",}"""),
        ("unterminated", "{\"resourceType\":\"Patient\""), ("whitespace", "   "), ("empty", ""),
    ];

    /// <summary>Patients whose JSON has a value of the wrong shape: always refused.</summary>
    private static readonly (string Name, string Json)[] PatientShapes =
    [
        ("given-object", """{"resourceType":"Patient","name":[{"given":{"a":1}}]}"""),
        ("given-extension-object", """{"resourceType":"Patient","name":[{"given":["a"],"_given":{"id":"test"}}]}"""),
        ("name-object", """{"resourceType":"Patient","name":{"family":"x"}}"""),
        ("name-string", """{"resourceType":"Patient","name":"x"}"""),
        ("gender-array", """{"resourceType":"Patient","gender":["male"]}"""),
        ("birthDate-number", """{"resourceType":"Patient","birthDate":19500101}"""),
        ("active-string", """{"resourceType":"Patient","active":"true"}"""),
        ("multipleBirth-fraction", """{"resourceType":"Patient","multipleBirthInteger":1.5}"""),
        ("multipleBirth-1e400", """{"resourceType":"Patient","multipleBirthInteger":1e400}"""),
        ("duplicate-key", """{"resourceType":"Patient","active":true,"active":false}"""),
        ("id-number", """{"resourceType":"Patient","id":5}"""),
        ("contained-number", """{"resourceType":"Patient","contained":[1]}"""),
        ("contained-without-type", """{"resourceType":"Patient","contained":[{"id":"x"}]}"""),
        ("reference-number", """{"resourceType":"Patient","generalPractitioner":[{"reference":1}]}"""),
        ("link-bad-code", """{"resourceType":"Patient","link":[{"other":{"reference":"Patient/x"},"type":"nope"}]}"""),
        ("choice-unknown-type", """{"resourceType":"Patient","deceasedFoo":true}"""),
    ];

    /// <summary>Shapes that a lenient but safe server may accept (see the report): no 5xx.</summary>
    private static readonly (string Name, string Json)[] DebatableShapes =
    [
        ("given-extension-longer", """{"resourceType":"Patient","name":[{"given":["a"],"_given":[{"id":"x"},{"id":"y"}]}]}"""),
        ("given-nulls", """{"resourceType":"Patient","name":[{"given":[null],"_given":[null]}]}"""),
        ("name-nested-array", """{"resourceType":"Patient","name":[[]]}"""),
        ("name-null-item", """{"resourceType":"Patient","name":[null]}"""),
        ("id-empty", """{"resourceType":"Patient","id":""}"""),
        ("choice-two-types", """{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020"}"""),
        ("two-documents", """{"resourceType":"Patient"}{"resourceType":"Patient"}"""),
        ("meta-array", """{"resourceType":"Patient","meta":[]}"""),
        ("duplicate-resourceType", """{"resourceType":"Patient","resourceType":"Observation"}"""),
    ];

    /// <summary>A second entry (index 1, after a good POST) that is wrong; Batch: also sent as a batch.</summary>
    private static readonly (string Name, Func<string, string> Entry, bool Batch)[] BadEntries =
    [
        ("no-request", _ => "{\"resource\":" + Good + "}", false),
        ("no-url", _ => "{\"resource\":" + Good + ",\"request\":{\"method\":\"POST\"}}", false),
        ("no-method", _ => "{\"resource\":" + Good + ",\"request\":{\"url\":\"Patient\"}}", false),
        ("empty-url", _ => Entry(Good, "POST", ""), false),
        ("dot-dot-url", _ => Entry(Good, "POST", "http://x/../.."), true),
        ("deep-url", _ => Entry(Good, "PUT", "Patient/a/b/c/d/e"), true),
        ("history-url", _ => Entry(Good, "PUT", "Patient/a/_history/x"), false),
        ("head-method", _ => Entry(null, "HEAD", "Patient"), true),
        ("unknown-method", _ => Entry(Good, "FOO", "Patient"), false),
        ("unknown-type", _ => Entry(Good, "POST", "NotAType"), true),
        ("type-mismatch", _ => Entry(Good, "POST", "Observation"), true),
        ("put-empty-criteria", _ => Entry(Good, "PUT", "Patient?"), false),
        ("put-long-id", _ => Entry(WithId(Good, new string('a', 65)), "PUT", "Patient/" + new string('a', 65)), true),
        ("delete-no-target", _ => Entry(null, "DELETE", "Patient"), false),
        ("if-match-garbage", _ => Entry(WithId(Good, "hostile-put"), "PUT", "Patient/hostile-put", ",\"ifMatch\":\"garbage\""), false),
        ("if-match-overflow", _ => Entry(WithId(Good, "hostile-put"), "PUT", "Patient/hostile-put", ",\"ifMatch\":\"W/\\\"99999999999\\\"\""), false),
        ("patch-with-patient", id => Entry(Good, "PATCH", $"Patient/{id}"), true),
        ("patch-binary-garbage", id => Entry(Binary("garbage"), "PATCH", $"Patient/{id}"), false),
        ("unresolved-urn", _ => Entry(WithGp("urn:uuid:00000000-0000-0000-0000-000000000000"), "POST", "Patient"), false),
        ("conditional-reference-empty", _ => Entry(WithGp("Patient?"), "POST", "Patient"), false),
        ("conditional-reference-unknown-param", _ => Entry(WithGp("Practitioner?foo=bar"), "POST", "Patient"), true),
        ("if-none-exist-unknown-param", _ => Entry(Good, "POST", "Patient", ",\"ifNoneExist\":\"foo=bar\""), true),
    ];

    private static string WithGp(string reference) =>
        Good.Replace("\"active\":true", "\"generalPractitioner\":[{\"reference\":\"" + reference + "\"}]");

    private static string Binary(string data) =>
        "{\"resourceType\":\"Binary\",\"contentType\":\"" + JsonPatchType + "\",\"data\":\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes(data)) + "\"}";

    private static readonly (string Name, string Xml, bool Debatable)[] XmlShapes =
    [
        ("not-well-formed", "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>", false),
        ("unterminated", "<Patient xmlns=\"http://hl7.org/fhir\">", false),
        ("duplicate-attribute", XmlPatient("<active value=\"true\" value=\"false\"/>"), false),
        ("undefined-entity", XmlPatient("<active value=\"&bogus;\"/>"), false),
        ("xxe-file", "<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" + XmlPatient("<name><family value=\"&e;\"/></name>"), false),
        ("xxe-parameter-entity", "<!DOCTYPE Patient [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>" + XmlPatient(""), false),
        ("billion-laughs", "<!DOCTYPE Patient [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">" +
                           "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">]>" + XmlPatient("<name><family value=\"&e;\"/></name>"), false),
        ("doctype-only", "<!DOCTYPE Patient>" + XmlPatient(""), false),
        ("wrong-namespace", "<Patient xmlns=\"http://hl7.org/fhir/wrong\"><active value=\"true\"/></Patient>", false),
        ("no-namespace", "<Patient><active value=\"true\"/></Patient>", false),
        ("unknown-root", "<Foo xmlns=\"http://hl7.org/fhir\"/>", false),
        ("Resource-root", "<Resource xmlns=\"http://hl7.org/fhir\"/>", false),
        ("DomainResource-root", "<DomainResource xmlns=\"http://hl7.org/fhir\"/>", false),
        ("bad-boolean", XmlPatient("<active value=\"yes\"/>"), false),
        ("xml-1.1", "<?xml version=\"1.1\"?>" + XmlPatient(""), false),
        ("empty", "", false),
        ("two-roots", XmlPatient("<active value=\"true\"/>") + XmlPatient(""), true),
        ("text-instead-of-value", XmlPatient("<active>true</active>"), true),
        ("repeated-family", XmlPatient("<name><family value=\"x\"/><family value=\"y\"/></name>"), true),
    ];

    private static Cases ShapeCases()
    {
        var cases = new Cases(Shapes);
        string[] alsoUpdate = ["array", "Resource", "empty"];
        foreach (var (name, body) in WrongShapes)
        {
            cases.Add($"create/{name}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(body)));
            if (alsoUpdate.Contains(name)) cases.Add($"update/{name}", id => Send(HttpMethod.Put, $"/fhir/Patient/{id}", Text(body)));
        }
        foreach (var (name, json) in PatientShapes)
            cases.Add($"patient/{name}", _ => Post("/fhir/Patient", json));
        foreach (var (name, json) in DebatableShapes)
            cases.Add($"debatable/{name}", _ => Post("/fhir/Patient", json), Expect.NoServerError);

        foreach (var (name, entry, batch) in BadEntries)
        {
            cases.Add($"transaction/{name}", id => Post("/fhir", Bundle("transaction", GoodEntry, entry(id))));
            if (batch) cases.Add($"batch/{name}", id => Post("/fhir", Bundle("batch", GoodEntry, entry(id))), Expect.EntryError);
        }
        // A GET entry's failure is its own status even in a transaction; "?" is a search of every type (defensible).
        cases.Add("transaction/get-garbage-url", _ => Post("/fhir", Bundle("transaction", GoodEntry, Entry(null, "GET", "Patient?_count=abc"))), Expect.EntryError);
        cases.Add("batch/get-query-only", _ => Post("/fhir", Bundle("batch", GoodEntry, Entry(null, "GET", "?_id=x"))), Expect.NoServerError);
        cases.Add("bundle/transaction-without-entry", _ => Post("/fhir", """{"resourceType":"Bundle","type":"transaction"}"""), Expect.NoServerError);
        cases.Add("bundle/batch-without-entry", _ => Post("/fhir", """{"resourceType":"Bundle","type":"batch"}"""), Expect.NoServerError);
        cases.Add("bundle/searchset", _ => Post("/fhir", Bundle("searchset", "{\"resource\":" + Good + "}")));
        cases.Add("bundle/collection", _ => Post("/fhir", Bundle("collection", "{\"resource\":" + Good + "}")));
        cases.Add("bundle/no-type", _ => Post("/fhir", "{\"resourceType\":\"Bundle\",\"entry\":[" + GoodEntry + "]}"));
        cases.Add("bundle/unknown-type", _ => Post("/fhir", Bundle("nonsense", GoodEntry)));
        cases.Add("bundle/empty-entry", _ => Post("/fhir", Bundle("transaction", "{}")));
        cases.Add("bundle/null-entry", _ => Post("/fhir", Bundle("transaction", "null")));
        cases.Add("bundle/entry-object", _ => Post("/fhir", """{"resourceType":"Bundle","type":"transaction","entry":{}}"""));
        cases.Add("bundle/patient", _ => Post("/fhir", Good));
        const string fullUrl = ",\"fullUrl\":\"urn:uuid:11111111-1111-1111-1111-111111111111\"}";
        cases.Add("bundle/duplicate-fullUrl", _ => Post("/fhir", Bundle("transaction", GoodEntry[..^1] + fullUrl, GoodEntry[..^1] + fullUrl)));

        foreach (var (name, xml, debatable) in XmlShapes)
            cases.Add($"xml/{name}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(xml, FhirXml)), debatable ? Expect.NoServerError : Expect.ClientError);
        foreach (var (name, xml, _) in XmlShapes.Where(x => x.Name is "not-well-formed" or "xxe-file" or "billion-laughs" or "unknown-root"))
            cases.Add($"xml-transaction/{name}", _ => Send(HttpMethod.Post, "/fhir", Text(xml, FhirXml)));

        const string observation = """{"resourceType":"Observation","status":"final","code":{"text":"x"}}""";
        cases.Add("match/empty-object", _ => Post("/fhir/Patient/$match", "{}"));
        cases.Add("match/patient-body", _ => Post("/fhir/Patient/$match", Good));
        cases.Add("match/no-resource", _ => Post("/fhir/Patient/$match", Parameters(Part("count", "valueString", "x"))));
        cases.Add("match/observation", _ => Post("/fhir/Patient/$match", Parameters("{\"name\":\"resource\",\"resource\":" + observation + "}")));
        string Ref(string name, string reference) => "{\"name\":\"" + name + "\",\"valueReference\":{\"reference\":\"" + reference + "\"}}";
        cases.Add("merge/empty", _ => Post("/fhir/Patient/$merge", """{"resourceType":"Parameters"}"""));
        cases.Add("merge/empty-id", id => Post("/fhir/Patient/$merge", Parameters(Ref("source-patient", "Patient/"), Ref("target-patient", $"Patient/{id}"))));
        cases.Add("merge/into-itself", id => Post("/fhir/Patient/$merge", Parameters(Ref("source-patient", $"Patient/{id}"), Ref("target-patient", $"Patient/{id}"))));
        cases.Add("merge/observation", id => Post("/fhir/Patient/$merge", Parameters(Ref("source-patient", "Observation/1"), Ref("target-patient", $"Patient/{id}"))));
        cases.Add("merge/string-values", id => Post("/fhir/Patient/$merge", Parameters(Part("source-patient", "valueString", "x"), Part("target-patient", "valueString", id))));
        cases.Add("merge/nul-id", id => Post("/fhir/Patient/$merge", Parameters(Ref("source-patient", "Patient/a" + Nul), Ref("target-patient", $"Patient/{id}"))));
        return cases;
    }

    // ---------------------------------------------------------------- 4. nesting

    private static readonly int[] JsonDepths = [101, 500, 5000];
    private static readonly int[] XmlDepths = [51, 1000, 10000];

    private static readonly (string Name, string Type, Func<int, string> Make)[] DeepJson =
    [
        ("extension", "Patient", n => "{\"resourceType\":\"Patient\",\"extension\":[" + Repeat("{\"url\":\"http://x\",\"extension\":[", n) +
                                      "{\"url\":\"http://x\",\"valueString\":\"v\"}" + Repeat("]}", n) + "]}"),
        ("objects", "Patient", n => "{\"resourceType\":\"Patient\",\"x\":" + Repeat("{\"x\":", n) + "1" + Repeat("}", n) + "}"),
        ("arrays", "Patient", n => "{\"resourceType\":\"Patient\",\"x\":" + Repeat("[", n) + Repeat("]", n) + "}"),
        ("questionnaire-items", "QuestionnaireResponse", n => "{\"resourceType\":\"QuestionnaireResponse\",\"status\":\"completed\",\"item\":[" +
                                                             Repeat("{\"linkId\":\"1\",\"item\":[", n) + "{\"linkId\":\"1\"}" + Repeat("]}", n) + "]}"),
    ];

    private static readonly (string Name, Func<int, string> Make)[] DeepXml =
    [
        ("extension", n => XmlPatient(Repeat("<extension url=\"http://x\">", n) + "<valueString value=\"v\"/>" + Repeat("</extension>", n))),
        ("unknown", n => XmlPatient(Repeat("<x>", n) + Repeat("</x>", n))),
    ];

    private static string DeepParameters(int n) =>
        Parameters(Repeat("{\"name\":\"p\",\"part\":[", n) + "{\"name\":\"v\",\"valueString\":\"x\"}" + Repeat("]}", n));

    private static string DeepXmlParameters(int n) =>
        "<Parameters xmlns=\"http://hl7.org/fhir\"><parameter><name value=\"p\"/>" + Repeat("<part><name value=\"p\"/>", n) +
        "<valueString value=\"x\"/>" + Repeat("</part>", n) + "</parameter></Parameters>";

    /// <summary>A transaction POSTing a collection Bundle that holds a Bundle that holds... <paramref name="levels"/> deep.</summary>
    private static string NestedBundles(int levels) =>
        Bundle("transaction", Entry(Repeat("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":", levels) + Good + Repeat("}]}", levels), "POST", "Bundle"));

    private static Cases NestingCases()
    {
        var cases = new Cases(Nesting);
        foreach (var (name, type, make) in DeepJson)
            foreach (var depth in JsonDepths)
            {
                cases.Add($"json/{name}/{depth}", _ => Post($"/fhir/{type}", make(depth)));
                if (name == "extension")
                    cases.Add($"json-transaction/{name}/{depth}", _ => Post("/fhir", Bundle("transaction", Entry(make(depth), "POST", type))));
            }
        foreach (var depth in JsonDepths)
        {
            cases.Add($"json/top-level-arrays/{depth}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(Repeat("[", depth) + Repeat("]", depth))));
            cases.Add($"json/parameters-parts-patch/{depth}", id => PathPatch(id, DeepParameters(depth)));
            cases.Add($"json/parameters-parts-match/{depth}", _ => Post("/fhir/Patient/$match", DeepParameters(depth)));
            cases.Add($"json/json-patch-value/{depth}", id => JsonPatch(id, "[{\"op\":\"add\",\"path\":\"/x\",\"value\":" + Repeat("[", depth) + Repeat("]", depth) + "}]"));
        }
        foreach (var levels in new[] { 40, 1000 })
            cases.Add($"json/bundle-in-bundle/{levels}", _ => Post("/fhir", NestedBundles(levels)));

        foreach (var (name, make) in DeepXml)
            foreach (var depth in XmlDepths)
            {
                cases.Add($"xml/{name}/{depth}", _ => Send(HttpMethod.Post, "/fhir/Patient", Text(make(depth), FhirXml)));
                cases.Add($"xml-transaction/{name}/{depth}", _ => Send(HttpMethod.Post, "/fhir", Text(XmlTransaction(make(depth)), FhirXml)));
            }
        foreach (var depth in XmlDepths)
            cases.Add($"xml/parameters-parts-patch/{depth}", id => Send(HttpMethod.Patch, $"/fhir/Patient/{id}", Text(DeepXmlParameters(depth), FhirXml)));

        // FHIRPath Patch paths (aimed at Patient.photo, which the subject lacks, so nothing is lost if one slipped through)
        var paths = new (string Name, Func<string> Path)[]
        {
            ("parens-5000", () => Repeat("(", 5000) + "Patient.photo" + Repeat(")", 5000)),
            ("dot-name-20000", () => "Patient" + Repeat(".name", 20000)),
            ("parens-17", () => Repeat("(", 17) + "Patient.photo" + Repeat(")", 17)),
            ("where-17", () => "Patient.photo.where(" + Repeat("data.where(", 16) + "true" + Repeat(")", 17)),
            ("brackets-17", () => "Patient.photo" + Repeat("[", 17) + "0" + Repeat("]", 17)),
            ("first-300", () => "Patient.photo" + Repeat(".first()", 300)),
            ("long-literal", () => "Patient.name.where(family = '" + new string('x', 1000) + "')"),
            ("unbalanced-open-5000", () => Repeat("(", 5000)),
            ("unbalanced-close-5000", () => "Patient.photo" + Repeat(")", 5000)),
        };
        foreach (var (name, path) in paths)
            cases.Add($"fhirpath/delete/{name}", id => PathPatch(id, Operation("delete", path())));
        foreach (var (name, path) in paths.Take(3))
        {
            cases.Add($"fhirpath/replace/{name}", id => PathPatch(id, Operation("replace", path(), ValuePart("valueString", "x"))));
            cases.Add($"fhirpath/transaction/{name}", id => Post("/fhir", Bundle("transaction", Entry(Operation("delete", path()), "PATCH", $"Patient/{id}"))));
        }
        return cases;
    }
}
