using System.Text;
using Npgsql;

namespace Interop.Bench;

/// <summary>
/// The seed has no risk stratification: one resident in ten gets a final RiskAssessment in the seed's last year
/// (high for 40 %, as its qualitativeRisk), and half the high-risk ones an active CarePlan, through transactions, once.
/// </summary>
public static class IndicatorData
{
    public static async Task EnsureRisk(NpgsqlDataSource db, HttpClient http, string baseUrl)
    {
        await using (var have = db.CreateCommand("select count(*) from fhir.mt_doc_resourcedoc where resource_type = 'RiskAssessment' and not deleted"))
            if ((long)(await have.ExecuteScalarAsync())! > 0) return;
        var patients = new List<string>();
        await using (var cmd = db.CreateCommand("select resource_id from fhir.mt_doc_resourcedoc where resource_type = 'Patient' and not deleted and rid % 10 = 0"))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) patients.Add(reader.GetString(0));
        Console.WriteLine($"adding risk assessments for {patients.Count:N0} residents...");
        var random = new Random(13);
        foreach (var chunk in patients.Chunk(250))
        {
            var entries = new List<string>();
            foreach (var p in chunk)
            {
                var high = random.NextDouble() < .4;
                var date = $"2026-0{1 + random.Next(9)}-1{random.Next(10)}";
                entries.Add("{\"resource\":{\"resourceType\":\"RiskAssessment\",\"status\":\"final\",\"subject\":{\"reference\":\"Patient/" + p +
                            "\"},\"occurrenceDateTime\":\"" + date + "\",\"prediction\":[{\"qualitativeRisk\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/risk-probability\",\"code\":\"" +
                            (high ? "high" : "low") + "\"}]},\"probabilityDecimal\":" + (high ? 80 : 10) + "}]},\"request\":{\"method\":\"POST\",\"url\":\"RiskAssessment\"}}");
                if (high && random.NextDouble() < .5)
                    entries.Add("{\"resource\":{\"resourceType\":\"CarePlan\",\"status\":\"active\",\"intent\":\"plan\",\"subject\":{\"reference\":\"Patient/" + p +
                                "\"},\"title\":\"Individual care plan\"},\"request\":{\"method\":\"POST\",\"url\":\"CarePlan\"}}");
            }
            var bundle = $$"""{"resourceType":"Bundle","type":"transaction","entry":[{{string.Join(",", entries)}}]}""";
            var response = await http.PostAsync(baseUrl, new StringContent(bundle, Encoding.UTF8, "application/fhir+json"));
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"adding risk assessments failed: {await response.Content.ReadAsStringAsync()}");
        }
        await using var analyze = db.CreateCommand("analyze");
        await analyze.ExecuteNonQueryAsync();
    }
}
