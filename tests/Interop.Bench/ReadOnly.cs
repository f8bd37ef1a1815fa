using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Interop.Bench;

/// <summary>Read-by-id alone, like the raw select phase, so the two rates compare directly.</summary>
public static class ReadOnly
{
    public static async Task<(Stats Stats, TimeSpan Elapsed)> Run(HttpClient http, string baseUrl, int workers, TimeSpan duration)
    {
        var ids = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var response = await http.PostAsync($"{baseUrl}/Patient", new StringContent(Documents.Json("Patient", null, i), Encoding.UTF8, "application/fhir+json"));
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {baseUrl}/Patient: {(int)response.StatusCode} {body}");
            ids.Add(JsonNode.Parse(body)!["id"]!.GetValue<string>());
        }
        var stats = new Stats();
        var elapsed = await Load.Run(workers, duration, async (_, ct) =>
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync($"{baseUrl}/Patient/{ids[Random.Shared.Next(ids.Count)]}", HttpCompletionOption.ResponseContentRead);
            if (response.StatusCode != HttpStatusCode.OK) stats.Error();
            else stats.Record("read-by-id alone", start);
        });
        return (stats, elapsed);
    }
}
