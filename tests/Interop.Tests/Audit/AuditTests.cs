using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Auth;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Audit;

/// <summary>
/// The access log: one AuditEvent per interaction with the right fields, refusals and break-glass recorded, searches
/// naming every patient returned, no API writes, tampering detected, a resident's view of their own log, and no
/// answer when the log cannot be written.
/// </summary>
public sealed class AuditTests(AuditTests.World world) : IClassFixture<AuditTests.World>
{
    public sealed class World : IAsyncLifetime
    {
        public AuditFixture Server { get; } = new();
        public async System.Threading.Tasks.Task InitializeAsync() => await ((IAsyncLifetime)Server).InitializeAsync();
        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    public sealed class AuditFixture : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Audit:SealKey"] = "test-seal-key", ["Audit:Site"] = "test-site" };
    }

    private AuditFixture Server => world.Server;
    private static string Tag() => Guid.NewGuid().ToString("N")[..10];

    /// <summary>A new institution ("Organization/…"): clients act for one that exists.</summary>
    private async Task<string> Org() => "Organization/" + await Server.CreateClient().CreateId(new Organization { Name = "Station " + Tag() });

    /// <summary>The REST records a client left (not its token's), oldest first, straight from the table.</summary>
    private async Task<List<(string Subtype, string Action, int Outcome, string[] Patients, string[] Entities, JsonObject Doc)>> Records(string client)
    {
        await using var db = new NpgsqlConnection(Server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select subtype, action, outcome, patients, entities, doc from audit.event where agents @> array[$1] and type = 'rest' order by recorded, id", db);
        cmd.Parameters.AddWithValue(client);
        var list = new List<(string, string, int, string[], string[], JsonObject)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
            list.Add((r.GetString(0), r.GetString(1), r.GetInt16(2), r.GetFieldValue<string[]>(3), r.GetFieldValue<string[]>(4), JsonNode.Parse(r.GetString(5))!.AsObject()));
        return list;
    }

    private const string Columns = Interop.Fhir.Storage.AuditRows.Columns;

    private async Task Sql(string sql)
    {
        await using var db = new NpgsqlConnection(Server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, db);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<HttpResponseMessage> Ok(Task<HttpResponseMessage> call)
    {
        var response = await call;
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    [Fact]
    public async System.Threading.Tasks.Task A_read_leaves_one_record_with_the_BALP_fields()
    {
        var client = "reader-" + Tag();
        var station = await Org();
        var http = await Server.ClientWith(client, "system/*.cruds", station);
        var patient = await http.CreateId(new Patient { Name = [new HumanName { Family = "Audited" }] });
        await Ok(http.GetAsync($"/fhir/Patient/{patient}"));

        var record = Assert.Single((await Records(client)).Where(r => r.Subtype == "read"));
        Assert.Equal(("read", "R", 0), (record.Subtype, record.Action, record.Outcome));
        Assert.Equal([$"Patient/{patient}"], record.Patients);
        var doc = record.Doc;
        Assert.Equal("AuditEvent", (string?)doc["resourceType"]);
        Assert.Equal("http://terminology.hl7.org/CodeSystem/audit-event-type", (string?)doc["type"]!["system"]);
        Assert.Equal("rest", (string?)doc["type"]!["code"]);
        Assert.Equal("http://hl7.org/fhir/restful-interaction", (string?)doc["subtype"]![0]!["system"]);
        Assert.Equal("0", (string?)doc["outcome"]);
        Assert.NotNull(doc["recorded"]);
        Assert.NotNull(doc["period"]!["start"]);
        Assert.Equal("test-site", (string?)doc["source"]!["site"]);
        var agents = doc["agent"]!.AsArray();
        Assert.Contains(agents, a => (string?)a!["who"]!["identifier"]?["value"] == client);
        Assert.Contains(agents, a => (string?)a!["who"]!["reference"] == station);
        var entities = doc["entity"]!.AsArray();
        Assert.Contains(entities, e => (string?)e!["what"]!["reference"] == $"Patient/{patient}" && (string?)e["role"]!["code"] == "1");
        Assert.Contains(entities, e => ((string?)e!["what"]!["reference"])!.StartsWith($"Patient/{patient}/_history/1"));
    }

    [Fact]
    public async System.Threading.Tasks.Task Every_interaction_kind_leaves_exactly_one_matching_record()
    {
        var client = "kinds-" + Tag();
        var http = await Server.ClientWith(client, "system/*.cruds");
        var patient = await http.CreateId(new Patient { Name = [new HumanName { Family = "Kinds" }] });
        var obs = new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "1-1"), Subject = new ResourceReference($"Patient/{patient}") };
        var obsId = await http.CreateId(obs);
        obs.Id = obsId;
        var steps = new (string Subtype, string Action, Func<Task<HttpResponseMessage>> Call)[]
        {
            ("read", "R", () => http.GetAsync($"/fhir/Observation/{obsId}")),
            ("vread", "R", () => http.GetAsync($"/fhir/Observation/{obsId}/_history/1")),
            ("update", "U", () => http.PutAsync($"/fhir/Observation/{obsId}", FhirTest.Body(obs))),
            ("patch", "U", () => http.PatchAsync($"/fhir/Observation/{obsId}",
                FhirTest.Body("""[{"op":"replace","path":"/status","value":"amended"}]""", "application/json-patch+json"))),
            ("history-instance", "R", () => http.GetAsync($"/fhir/Observation/{obsId}/_history")),
            ("search-type", "E", () => http.GetAsync($"/fhir/Observation?subject=Patient/{patient}")),
            ("search-system", "E", () => http.GetAsync($"/fhir?_type=Observation,Patient&_id={obsId}")),
            ("operation", "E", () => http.GetAsync($"/fhir/Patient/{patient}/$everything")),
            ("batch", "E", () => http.PostAsync("/fhir", FhirTest.Body(new Bundle { Type = Bundle.BundleType.Batch }))),
            ("delete", "D", () => http.DeleteAsync($"/fhir/Observation/{obsId}")),
        };
        Assert.Equal(2, (await Records(client)).Count); // the two creates
        foreach (var (subtype, action, call) in steps)
        {
            var before = await Records(client);
            await Ok(call());
            var added = (await Records(client)).Skip(before.Count).ToList();
            var record = Assert.Single(added);
            Assert.True((subtype, action) == (record.Subtype, record.Action), $"{subtype}: recorded {record.Subtype} {record.Action}");
            Assert.Equal(subtype, (string?)record.Doc["subtype"]![0]!["code"]);
        }
        var all = await Records(client);
        Assert.Equal(("create", "C"), (all[0].Subtype, all[0].Action));
        Assert.All(all.Where(r => r.Subtype is "read" or "update" or "patch" or "delete" or "operation"), r => Assert.Contains($"Patient/{patient}", r.Patients));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_transaction_records_itself_and_each_entry()
    {
        var client = "tx-" + Tag();
        var http = await Server.ClientWith(client, "system/*.cruds");
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = new Patient { Name = [new HumanName { Family = "Audit" }] }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" } });
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = new Organization { Name = "x" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Organization" } });
        await Ok(http.PostAsync("/fhir", FhirTest.Body(bundle)));
        var records = await Records(client);
        Assert.Equal(["create", "create", "transaction"], records.Select(r => r.Subtype).Order().ToArray());
        Assert.Contains(records, r => r.Entities.Any(e => e.StartsWith("Organization/")));
    }

    [Fact]
    public async System.Threading.Tasks.Task Refusals_are_recorded_with_outcome_and_reason()
    {
        var client = "refused-" + Tag();
        var http = await Server.ClientWith(client, "system/Patient.rs");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/fhir/Observation?code=1")).StatusCode);
        var record = Assert.Single(await Records(client));
        Assert.Equal(4, record.Outcome);
        Assert.Contains("scope", (string?)record.Doc["outcomeDesc"]);

        var name = Tag();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Anonymous().GetAsync($"/fhir/Patient?name={name}")).StatusCode);
        var unauthenticated = Assert.Single((await Records("anonymous")).Where(r => r.Doc.ToJsonString().Contains(
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"Patient?name={name}")))));
        Assert.Equal((4, "search-type"), (unauthenticated.Outcome, unauthenticated.Subtype));
        Assert.NotNull(unauthenticated.Doc["outcomeDesc"]);
    }

    [Fact]
    public async System.Threading.Tasks.Task Break_glass_is_recorded_with_its_reason()
    {
        var client = "er-" + Tag();
        var patient = await Server.CreateClient().CreateId(new Patient { Name = [new HumanName { Family = "Audit" }] });
        var http = await Server.ClientWith(client, "system/*.rs", await Org(), "clinician", "break-glass");
        var request = FhirTest.Request(HttpMethod.Get, $"/fhir/Patient/{patient}", null, ("X-Break-Glass", "unconscious patient in the ER"));
        await Ok(http.SendAsync(request));
        var record = Assert.Single(await Records(client));
        var purpose = record.Doc["purposeOfEvent"]![0]!;
        Assert.Equal("BTG", (string?)purpose["coding"]![0]!["code"]);
        Assert.Equal("unconscious patient in the ER", (string?)purpose["text"]);
        // Auditors find it by purpose.
        var auditor = await Server.ClientWith("auditor-" + Tag(), "system/AuditEvent.rs");
        var found = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent?purpose=BTG&agent={client}"))).ReadJson();
        Assert.Single(found["entry"]!.AsArray());
    }

    [Fact]
    public async System.Threading.Tasks.Task A_search_names_every_patient_it_returned()
    {
        var client = "searcher-" + Tag();
        var family = "Three" + Tag();
        var admin = Server.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await admin.CreateId(new Patient { Name = [new HumanName { Family = family }] }));
        var http = await Server.ClientWith(client, "system/*.rs");
        await Ok(http.GetAsync($"/fhir/Patient?family={family}"));
        var record = Assert.Single(await Records(client));
        Assert.Equal(ids.Select(i => $"Patient/{i}").Order(), record.Patients.Order());
        var query = record.Doc["entity"]!.AsArray().Single(e => (string?)e!["role"]!["code"] == "24")!;
        Assert.Contains($"family={family}", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)query["query"]!)));
    }

    [Fact]
    public async System.Threading.Tasks.Task The_API_cannot_write_AuditEvents()
    {
        var admin = Server.CreateClient();
        var body = """{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}""";
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.PostAsync("/fhir/AuditEvent", FhirTest.Body(body))).StatusCode);
        var withId = """{"resourceType":"AuditEvent","id":"x1","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}""";
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.PutAsync("/fhir/AuditEvent/x1", FhirTest.Body(withId))).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.DeleteAsync("/fhir/AuditEvent/x1")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.DeleteAsync("/fhir/AuditEvent?type=rest")).StatusCode);
        var tx = """{"resourceType":"Bundle","type":"transaction","entry":[{"resource":""" + body + ""","request":{"method":"POST","url":"AuditEvent"}}]}""";
        var response = await admin.PostAsync("/fhir", FhirTest.Body(tx));
        Assert.False(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await using var db = new NpgsqlConnection(Server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from fhir.mt_doc_resourcedoc where data->>'ResourceType' = 'AuditEvent'", db);
        Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        // And in the database it is append-only, even for the owner.
        await using var update = new NpgsqlCommand("update audit.event set outcome = 0 where outcome = 4", db);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => update.ExecuteNonQueryAsync());
        Assert.Contains("append-only", refused.MessageText);
    }

    [Fact]
    public async System.Threading.Tasks.Task Only_auditors_read_the_log()
    {
        var clinician = await Server.ClientWith("clin-" + Tag(), "system/*.rs");
        Assert.Equal(HttpStatusCode.Forbidden, (await clinician.GetAsync("/fhir/AuditEvent")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await clinician.GetAsync("/fhir/AuditEvent/$verify")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Anonymous().GetAsync("/fhir/AuditEvent")).StatusCode);
        var auditor = await Server.ClientWith("aud-" + Tag(), "system/AuditEvent.rs");
        await Ok(auditor.GetAsync("/fhir/AuditEvent?_count=1"));
    }

    [Fact]
    public async System.Threading.Tasks.Task Auditors_search_by_agent_institution_date_and_page()
    {
        var client = "paged-" + Tag();
        var org = await Org();
        var http = await Server.ClientWith(client, "system/*.rs", org);
        for (var i = 0; i < 5; i++) await Ok(http.GetAsync("/fhir/Patient?_count=1"));
        var auditor = await Server.ClientWith("aud-" + Tag(), "system/AuditEvent.rs");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        var page = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent?agent-org={org}&date=ge{today}&action=E&subtype=search-type&outcome=0&_count=2&_total=accurate&_sort=date"))).ReadJson();
        Assert.Equal(5, (int)page["total"]!);
        Assert.Equal(2, page["entry"]!.AsArray().Count);
        var seen = new List<string>();
        while (true)
        {
            seen.AddRange(page["entry"]!.AsArray().Select(e => (string)e!["resource"]!["id"]!));
            var next = page["link"]!.AsArray().FirstOrDefault(l => (string?)l!["relation"] == "next");
            if (next is null) break;
            page = await (await Ok(auditor.GetAsync(new Uri((string)next["url"]!).PathAndQuery))).ReadJson();
        }
        Assert.Equal(5, seen.Distinct().Count());
        var first = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent/{seen[0]}"))).ReadJson();
        Assert.Equal(seen[0], (string?)first["id"]);
        Assert.Empty((await (await Ok(auditor.GetAsync($"/fhir/AuditEvent?agent-org={org}&date=lt2000-01-01"))).ReadJson())["entry"]?.AsArray() ?? []);
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync("/fhir/AuditEvent?colour=red")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync("/fhir/AuditEvent?date=yesterday")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync("/fhir/AuditEvent/not-a-uuid")).StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task The_access_report_tells_who_accessed_a_record()
    {
        var client = "report-" + Tag();
        var clinic = await Org();
        var http = await Server.ClientWith(client, "system/*.cruds", clinic);
        var patient = await http.CreateId(new Patient { Name = [new HumanName { Family = "Audit" }] });
        await Ok(http.GetAsync($"/fhir/Patient/{patient}"));
        var auditor = await Server.ClientWith("aud-" + Tag(), "system/AuditEvent.rs");
        var csv = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent/$access-report?patient={patient}&_format=text/csv"))).Content.ReadAsStringAsync();
        var line = Assert.Single(csv.Split('\n').Where(l => l.Contains(client) && l.Contains(",read,")));
        Assert.Contains(clinic, line);
        Assert.Contains(",R,read,0,", line);
        var parameters = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent/$access-report?patient=Patient/{patient}"))).ReadJson();
        Assert.Contains(parameters["parameter"]!.AsArray(), p => (string?)p!["name"] == "access"
            && p["part"]!.AsArray().Any(x => (string?)x!["valueString"] == client));
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync("/fhir/AuditEvent/$access-report")).StatusCode);
        var ndjson = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent/$export?start={DateTime.UtcNow.AddHours(-1):yyyy-MM-ddTHH:mm:ssZ}"))).Content.ReadAsStringAsync();
        Assert.Contains(ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains(client) && JsonNode.Parse(l) is not null);
    }

    [Fact]
    public async System.Threading.Tasks.Task Tampering_in_the_database_is_detected()
    {
        var auditor = await Server.ClientWith("aud-" + Tag(), "system/AuditEvent.rs");
        async Task<JsonObject> Verify() => await (await Ok(auditor.GetAsync("/fhir/AuditEvent/$verify"))).ReadJson();
        static string? Value(JsonObject p, string name) => p["parameter"]!.AsArray().FirstOrDefault(x => (string?)x!["name"] == name)?["valueCode"]?.ToString()
                                                           ?? p["parameter"]!.AsArray().FirstOrDefault(x => (string?)x!["name"] == name)?["valueString"]?.ToString();
        // Some records on the write lanes and the commit lane.
        var http = await Server.ClientWith("tamper-" + Tag(), "system/*.cruds");
        var id = await http.CreateId(new Patient { Name = [new HumanName { Family = "Audit" }] });
        await Ok(http.GetAsync($"/fhir/Patient/{id}"));
        var intact = await Verify();
        Assert.Equal("intact", Value(intact, "result"));

        // Edit one record's content, as a DBA could with the triggers off; then put it back.
        const string last = "(select id from audit.event where subtype = 'read' order by recorded desc limit 1)";
        await Sql($"set session_replication_role = replica; update audit.event set doc = doc || ' ' where id = {last}");
        var edited = await Verify();
        Assert.Equal("broken", Value(edited, "result"));
        Assert.Contains("changed", Value(edited, "problem"));
        Assert.StartsWith("AuditEvent/", Value(edited, "record"));
        await Sql($"set session_replication_role = replica; update audit.event set doc = rtrim(doc) where id = {last}");
        Assert.Equal("intact", Value(await Verify(), "result"));

        // Insert a forged copy of a record (a new id, the same place in its chain); then remove it.
        var forged = Guid.NewGuid();
        await Sql($"insert into audit.event select '{forged}', recorded, lane, pos, hash, patients, entities, agents, agent_org, action, subtype, outcome, purpose, type, source, doc, keys from audit.event where id = {last}");
        Assert.Equal("broken", Value(await Verify(), "result"));
        await Sql($"set session_replication_role = replica; delete from audit.event where id = '{forged}'");
        Assert.Equal("intact", Value(await Verify(), "result"));

        // Remove a record in the middle of a chain, then the last one (the verifications themselves add records).
        // The lane of the group commit that wrote the newest record.
        const string newest = "from audit.event where lane = (select lane from audit.event where lane >= 16 order by recorded desc limit 1) "
                              + "order by (recorded at time zone 'UTC')::date desc, pos desc";
        await Sql($"create table saved_middle as select * {newest} offset 1 limit 1");
        await Sql("set session_replication_role = replica; delete from audit.event where id = (select id from saved_middle)");
        var middle = await Verify();
        Assert.Equal("broken", Value(middle, "result"));
        Assert.Contains("removed before", Value(middle, "problem"));
        await Sql($"insert into audit.event ({Columns}) select {Columns} from saved_middle; drop table saved_middle");
        await Sql($"create table saved_end as select * {newest} limit 1");
        await Sql("set session_replication_role = replica; delete from audit.event where id = (select id from saved_end)");
        var end = await Verify();
        Assert.Equal("broken", Value(end, "result"));
        Assert.Contains("at its end", Value(end, "problem"));
        await Sql($"insert into audit.event ({Columns}) select {Columns} from saved_end; drop table saved_end");
        Assert.Equal("intact", Value(await Verify(), "result"));
    }

    [Fact]
    public async System.Threading.Tasks.Task Without_a_durable_record_nothing_is_answered_or_changed()
    {
        var admin = Server.CreateClient();
        var patient = await admin.CreateId(new Patient { Name = [new HumanName { Family = "Blocked" }] });
        var code = Tag();
        var client = "blocked-" + code;
        var http = await Server.ClientWith(client, "system/*.cruds");
        // The log refuses every record of this client, as a full disk or a revoked privilege would.
        await Sql($"alter table audit.event add constraint refuse_{code} check (type <> 'rest' or not agents && array['{client}'])");
        try
        {
            var read = await http.GetAsync($"/fhir/Patient/{patient}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
            Assert.Contains("access log", await read.Content.ReadAsStringAsync());
            var obs = new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("urn:test", code), Subject = new ResourceReference($"Patient/{patient}") };
            var write = await http.PostAsync("/fhir/Observation", FhirTest.Body(obs));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
            var tx = new Bundle { Type = Bundle.BundleType.Transaction };
            tx.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = new Organization { Name = code }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Organization" } });
            tx.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = obs, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" } });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.PostAsync("/fhir", FhirTest.Body(tx))).StatusCode);
        }
        finally
        {
            await Sql($"alter table audit.event drop constraint refuse_{code}");
        }
        // Nothing of the refused writes was stored, and the server answers again.
        Assert.Empty(TestData.Matches(await (await Ok(admin.GetAsync($"/fhir/Observation?code=urn:test|{code}"))).ReadJson()));
        Assert.Empty(TestData.Matches(await (await Ok(admin.GetAsync($"/fhir/Organization?name={code}"))).ReadJson()));
        await Ok(http.GetAsync($"/fhir/Patient/{patient}"));
        Assert.Contains(await Records(client), r => r.Subtype == "read" && r.Outcome == 0);
    }

    [Fact]
    public async System.Threading.Tasks.Task Retention_removes_whole_days_and_leaves_a_signed_checkpoint()
    {
        var auditor = await Server.ClientWith("aud-" + Tag(), "system/AuditEvent.rs");
        await Ok(auditor.GetAsync("/fhir/AuditEvent?_count=1"));
        // Move a day of records into the past (a partition for two days ago, with its chain head) and purge it.
        var old = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-2));
        await Sql($"""
            select audit.ensure_partition('{old:yyyy-MM-dd}');
            set session_replication_role = replica;
            insert into audit.chain_head select '{old:yyyy-MM-dd}', lane, pos, hash from audit.chain_head where day = (now() at time zone 'UTC')::date and lane >= 16;
            insert into audit.event select id, recorded - interval '2 days', lane, pos, hash, patients, entities, agents, agent_org, action, subtype, outcome, purpose, type, source, doc, keys
              from audit.event where lane >= 16 and (recorded at time zone 'UTC')::date = (now() at time zone 'UTC')::date
            """);
        var parts = await (await Ok(auditor.GetAsync($"/fhir/AuditEvent/$verify?start={old:yyyy-MM-dd}&end={old:yyyy-MM-dd}"))).ReadJson();
        Assert.Contains("broken", parts.ToJsonString()); // the copies' recorded times no longer match their hashes

        var services = Server.Services;
        var (days, removed) = await Interop.Fhir.Audit.AuditChain.Purge(services.GetRequiredService<NpgsqlDataSource>(), old.AddDays(1), "test-seal-key", default);
        Assert.True(days >= 1 && removed > 0, $"{days} days, {removed} records");
        var report = await (await Ok(auditor.GetAsync("/fhir/AuditEvent/$verify"))).ReadJson();
        Assert.Contains("\"intact\"", report.ToJsonString());
        Assert.Contains("signature valid", report.ToJsonString());
        // An edited checkpoint is detected.
        await Sql("update audit.checkpoint set removed = removed + 1");
        Assert.Contains("ALTERED", (await (await Ok(auditor.GetAsync("/fhir/AuditEvent/$verify"))).ReadJson()).ToJsonString());
        await Sql("update audit.checkpoint set removed = removed - 1");
    }
}
