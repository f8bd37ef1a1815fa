using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Npgsql;

namespace Interop.Tests.Transactions;

/// <summary>
/// All shared Synthea bundles load as transactions with every reference resolved, and real-data searches
/// work on them. The bundles are read from INTEROP_SYNTHEA_DIR, never copied into the project.
/// </summary>
public sealed class SyntheaTests(SyntheaTests.LoadedFixture server) : IClassFixture<SyntheaTests.LoadedFixture>
{
    public sealed class LoadedFixture : FhirServerFixture
    {
        public List<(string File, HttpStatusCode Status, string Body)> Loads { get; } = [];

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            if (SyntheaFactAttribute.Folder is not { } folder) return;
            var client = CreateClient();
            // Hospitals and practitioners first, as Synthea intends; patient bundles refer to them conditionally.
            var files = Directory.GetFiles(folder, "*.json").OrderBy(f => Path.GetFileName(f).StartsWith("hospital") ? 0 : Path.GetFileName(f).StartsWith("practitioner") ? 1 : 2).ThenBy(f => f);
            foreach (var file in files)
            {
                var response = await client.PostAsync("/fhir", FhirTest.Body(await File.ReadAllTextAsync(file)));
                Loads.Add((Path.GetFileName(file), response.StatusCode, response.IsSuccessStatusCode ? "" : await response.Content.ReadAsStringAsync()));
            }
        }
    }

    [SyntheaFact]
    public void Every_bundle_loads_as_a_transaction()
    {
        Assert.Equal(26, server.Loads.Count);
        Assert.All(server.Loads, l => Assert.True(l.Status == HttpStatusCode.OK, $"{l.File}: {l.Status} {l.Body}"));
    }

    [SyntheaFact]
    public async Task Every_reference_resolves_to_a_stored_resource()
    {
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using (var leftover = new NpgsqlCommand("select count(*) from fhir.mt_doc_resourcedoc where data->>'Json' like '%urn:uuid:%'", db))
            Assert.Equal(0L, (long)(await leftover.ExecuteScalarAsync())!);
        await using var dangling = new NpgsqlCommand(
            "select count(*), min(x.target_type || '/' || x.target_id) from fhir.ix_reference x left join fhir.mt_doc_resourcedoc r on r.rid = x.target_rid where x.target_rid is not null and r.id is null", db);
        await using var reader = await dangling.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.True(reader.GetInt64(0) == 0, $"{reader.GetInt64(0)} references point nowhere, e.g. {(reader.IsDBNull(1) ? "" : reader.GetString(1))}");
        await reader.DisposeAsync();
        await using var count = new NpgsqlCommand("select count(*) from fhir.ix_reference where target_rid is not null", db);
        Assert.True((long)(await count.ExecuteScalarAsync())! > 10_000);
    }

    [SyntheaFact]
    public async Task Searches_over_real_data()
    {
        var client = server.CreateClient();
        async Task<JsonObject> Get(string url)
        {
            var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, url);
            return await response.ReadJson();
        }
        var patients = await Get("/fhir/Patient?_total=accurate&_count=100");
        Assert.Equal(24, patients["total"]!.GetValue<int>());
        var patient = patients["entry"]![0]!["resource"]!;
        var id = patient["id"]!.GetValue<string>();
        var family = patient["name"]![0]!["family"]!.GetValue<string>();

        Assert.Contains(id, TestData.Matches(await Get($"/fhir/Patient?family={Uri.EscapeDataString(family[..3].ToLowerInvariant())}&_count=100")));
        var observations = await Get($"/fhir/Observation?subject=Patient/{id}&_total=accurate");
        Assert.True(observations["total"]!.GetValue<int>() > 0);
        var compartment = await Get($"/fhir/Patient/{id}/Observation?_total=accurate");
        Assert.Equal(observations["total"]!.GetValue<int>(), compartment["total"]!.GetValue<int>());

        var bmi = await Get("/fhir/Observation?code=http://loinc.org|39156-5&value-quantity=gt30&_total=accurate");
        var byChain = await Get($"/fhir/Observation?subject:Patient.family={Uri.EscapeDataString(family)}&_total=accurate&_count=1");
        Assert.True(byChain["total"]!.GetValue<int>() >= observations["total"]!.GetValue<int>());
        // The quantity search must agree with the values themselves: count BMI > 30 from all BMI observations.
        var allBmi = await Get("/fhir/Observation?code=http://loinc.org|39156-5&_count=1000");
        var over30 = allBmi["entry"]!.AsArray().Count(e => e!["resource"]!["valueQuantity"]?["value"]?.GetValue<decimal>() > 30m);
        Assert.True(over30 > 0, "the Synthea data has BMI observations over 30");
        Assert.Equal(over30, bmi["total"]!.GetValue<int>());

        var encounters = await Get($"/fhir/Encounter?patient={id}&_include=Encounter:service-provider&_sort=-date&_count=5");
        Assert.NotEmpty(TestData.Matches(encounters));
        Assert.NotEmpty(TestData.Matches(encounters, "include"));
        var withConditions = await Get("/fhir/Patient?_has:Condition:patient:code=http://snomed.info/sct|&_total=accurate");
        Assert.True(withConditions["total"]!.GetValue<int>() > 0);
    }
}
