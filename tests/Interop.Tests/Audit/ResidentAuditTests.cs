using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Auth;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Audit;

/// <summary>
/// A resident reads, in the group app, who accessed their record: only the records about them, without network
/// addresses and without other clients' ids, and their own access report; nothing about other residents; none of the
/// auditors' other operations.
/// </summary>
public sealed class ResidentAuditTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Fact]
    public async System.Threading.Tasks.Task A_resident_sees_their_own_log_only()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var admin = server.CreateClient();
        var self = await admin.CreateId(new Patient { Name = [new HumanName { Family = "Self" + tag }] });
        var other = await admin.CreateId(new Patient { Name = [new HumanName { Family = "Other" + tag }] });
        var station = "Organization/" + await admin.CreateId(new Organization { Name = "Station " + tag });
        // A station's system records an encounter of the resident and reads it; the admin reads the other resident's.
        var stationClient = await server.ClientWith("station-" + tag, "system/*.cruds", station);
        var enc = await stationClient.CreateId(new Encounter { Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference($"Patient/{self}") });
        Assert.Equal(HttpStatusCode.OK, (await stationClient.GetAsync($"/fhir/Encounter/{enc}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/fhir/Patient/{other}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/fhir/Patient?_id={self},{other}")).StatusCode); // a search naming both

        const string password = "Correct-Horse-42";
        await server.RegisterOrFail("/admin/users", new { username = "self-" + tag, password, fhirUser = $"Patient/{self}" });
        await server.RegisterOrFail("/admin/clients", new { clientId = "app-" + tag, type = "public", redirectUris = new[] { AuthFixture.Redirect },
            scopes = "launch/patient patient/*.rs patient/AuditEvent.rs openid fhirUser" });
        var (code, verifier) = await server.Launch("app-" + tag, "launch/patient patient/*.rs patient/AuditEvent.rs", "self-" + tag, password);
        var (_, token) = await server.Exchange("app-" + tag, code, verifier);
        var resident = server.Bearer(token.GetProperty("access_token").GetString()!);

        var bundle = await (await resident.GetAsync("/fhir/AuditEvent?_count=100")).ReadJson();
        var events = bundle["entry"]!.AsArray().Select(e => e!["resource"]!.AsObject()).ToList();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Contains(e["entity"]!.AsArray(), x => (string?)x!["what"]!["reference"] == $"Patient/{self}"));
        Assert.DoesNotContain(events, e => e.ToJsonString().Contains(other)); // not even from the search that returned both
        Assert.Contains(events, e => (string?)e["subtype"]![0]!["code"] == "search-type");
        Assert.DoesNotContain(events, e => e.ToJsonString().Contains("\"network\""));
        Assert.DoesNotContain(events, e => e.ToJsonString().Contains("station-" + tag)); // another client's id
        Assert.DoesNotContain(events, e => e.ToJsonString().Contains("\"query\"")); // searches' text may name other residents
        var stationRead = Assert.Single(events, e => (string?)e["subtype"]![0]!["code"] == "read" && e.ToJsonString().Contains($"Encounter/{enc}"));
        Assert.Contains(stationRead["agent"]!.AsArray(), a => (string?)a!["who"]!["reference"] == station); // the institution stays

        // Asking for another resident's records is refused; reading one is a 404; auditors' operations are refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/fhir/AuditEvent?patient=Patient/{other}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/fhir/Patient/{other}/AuditEvent")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await resident.GetAsync($"/fhir/AuditEvent?patient={self}")).StatusCode);
        var auditor = await server.ClientWith("aud-" + tag, "system/AuditEvent.rs");
        var otherEvent = (string)(await (await auditor.GetAsync($"/fhir/AuditEvent?patient=Patient/{other}&subtype=read&_count=1")).ReadJson())["entry"]![0]!["resource"]!["id"]!;
        Assert.Equal(HttpStatusCode.NotFound, (await resident.GetAsync($"/fhir/AuditEvent/{otherEvent}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await resident.GetAsync($"/fhir/AuditEvent/{(string)events[0]["id"]!}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync("/fhir/AuditEvent/$verify")).StatusCode);
        // Their own access report (the group app's "who accessed my record"): the institution and what it touched stay;
        // the other resident the search also returned, other clients' ids and addresses do not; nobody else's report.
        var own = await resident.GetAsync($"/fhir/AuditEvent/$access-report?patient={self}");
        var report = await own.Content.ReadAsStringAsync();
        Assert.True(own.StatusCode == HttpStatusCode.OK, report);
        Assert.Contains(station, report);
        Assert.Contains($"Encounter/{enc}", report);
        Assert.Contains("an application of the group", report);
        Assert.DoesNotContain(other, report);
        Assert.DoesNotContain("station-" + tag, report);
        var csv = await (await resident.GetAsync($"/fhir/AuditEvent/$access-report?patient=Patient/{self}&_format=text/csv")).Content.ReadAsStringAsync();
        Assert.Contains(station, csv);
        Assert.DoesNotContain(other, csv);
        Assert.DoesNotContain("station-" + tag, csv);
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/fhir/AuditEvent/$access-report?patient={other}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await resident.GetAsync($"/fhir/AuditEvent/$access-report?patient=Patient/{other}&_format=text/csv")).StatusCode);
        // The resident's wildcard scope alone would not have read the log.
        Assert.Equal(HttpStatusCode.OK, (await resident.GetAsync($"/fhir/Patient/{self}")).StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Sign_ins_tokens_and_registrations_are_recorded()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var admin = server.CreateClient();
        var self = await admin.CreateId(new Patient { Name = [new HumanName { Family = "Login" + tag }] });
        const string password = "Correct-Horse-42";
        await server.RegisterOrFail("/admin/users", new { username = "login-" + tag, password, fhirUser = $"Patient/{self}" });
        await server.RegisterOrFail("/admin/clients", new { clientId = "app-" + tag, type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes = "launch/patient patient/*.rs" });
        // A wrong password, then the right one, and the token.
        var browser = server.Browser();
        var (_, challenge) = AuthFixture.Pkce();
        var page = await (await browser.GetAsync(AuthFixture.AuthorizeUrl("app-" + tag, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        await AuthFixture.Submit(browser, page, -1, ("username", "login-" + tag), ("password", "wrong-password"));
        var (code, verifier) = await server.Launch("app-" + tag, "launch/patient patient/*.rs", "login-" + tag, password);
        await server.Exchange("app-" + tag, code, verifier);
        await server.Exchange("app-" + tag, code, verifier); // a reused code: refused

        await using var db = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        async Task<List<(string Subtype, int Outcome, string Doc)>> Rows(string agent)
        {
            await using var cmd = new Npgsql.NpgsqlCommand("select subtype, outcome, doc from audit.event where agents @> array[$1] order by recorded", db);
            cmd.Parameters.AddWithValue(agent);
            var rows = new List<(string, int, string)>();
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) rows.Add((r.GetString(0), r.GetInt16(1), r.GetString(2)));
            return rows;
        }
        var logins = (await Rows("login-" + tag)).Where(r => r.Subtype == "login").ToList();
        Assert.Equal([4, 0], logins.Select(l => l.Outcome));
        Assert.Contains("wrong username or password", logins[0].Doc);
        Assert.DoesNotContain(logins, l => l.Doc.Contains(password) || l.Doc.Contains("wrong-password"));
        var tokens = (await Rows("app-" + tag)).Where(r => r.Subtype == "token").ToList();
        Assert.Equal([0, 4], tokens.Select(t => t.Outcome));
        Assert.Contains($"Patient/{self}", tokens[0].Doc);
        Assert.Contains("invalid_grant", tokens[1].Doc);
        Assert.Contains((await Rows("admin")), r => r.Subtype == "client-registered" && r.Doc.Contains($"Client/app-{tag}"));
        Assert.Contains((await Rows("admin")), r => r.Subtype == "user-registered" && r.Doc.Contains($"User/login-{tag}"));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_user_reads_the_log_only_with_the_auditor_role()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var admin = server.CreateClient();
        var person = await admin.CreateId(new Practitioner { Name = [new HumanName { Family = "Auditor" + tag }] });
        const string password = "Correct-Horse-42";
        await server.RegisterOrFail("/admin/users", new { username = "auditor-" + tag, password, fhirUser = $"Practitioner/{person}", roles = new[] { "auditor" } });
        await server.RegisterOrFail("/admin/users", new { username = "clerk-" + tag, password, fhirUser = $"Practitioner/{person}" });
        await server.RegisterOrFail("/admin/clients", new { clientId = "audit-app-" + tag, type = "public", redirectUris = new[] { AuthFixture.Redirect },
            scopes = "user/AuditEvent.rs user/*.rs openid fhirUser" });
        async Task<HttpClient> As(string username)
        {
            var (code, verifier) = await server.Launch("audit-app-" + tag, "user/AuditEvent.rs user/*.rs", username, password);
            var (_, token) = await server.Exchange("audit-app-" + tag, code, verifier);
            return server.Bearer(token.GetProperty("access_token").GetString()!);
        }
        var auditor = await As("auditor-" + tag);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync("/fhir/AuditEvent?_count=5")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync("/fhir/AuditEvent/$verify")).StatusCode);
        var clerk = await As("clerk-" + tag);
        Assert.Equal(HttpStatusCode.Forbidden, (await clerk.GetAsync("/fhir/AuditEvent?_count=5")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await clerk.GetAsync($"/fhir/Practitioner/{person}")).StatusCode); // the same scopes read clinical data
    }
}
