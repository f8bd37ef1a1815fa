using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Interop.Bench;

/// <summary>
/// The server's CRUD cycle. Each worker, in a loop: create Patient, CarePlan, ServiceRequest, EpisodeOfCare;
/// read each; update each (If-Match); delete each. 16 requests per cycle.
/// </summary>
public static class CrudCycle
{
    public static async Task<(Stats Stats, TimeSpan Elapsed)> Run(HttpClient http, string baseUrl, int workers, TimeSpan duration)
    {
        var stats = new Stats();
        var counter = 0;
        var elapsed = await Load.Run(workers, duration, async (_, ct) =>
        {
            var n = Interlocked.Increment(ref counter);
            var ids = new string[4];
            for (var i = 0; i < 4; i++)
            {
                var type = Documents.Types[i];
                var response = await Timed(stats, "create", () => http.PostAsync($"{baseUrl}/{type}", Body(Documents.Json(type, null, n))), HttpStatusCode.Created);
                if (response is null) return;
                ids[i] = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
            }
            for (var i = 0; i < 4; i++)
            {
                var r = await Timed(stats, "read", () => http.GetAsync($"{baseUrl}/{Documents.Types[i]}/{ids[i]}"), HttpStatusCode.OK);
                if (r is not null) await r.Content.ReadAsByteArrayAsync();
            }
            for (var i = 0; i < 4; i++)
            {
                var type = Documents.Types[i];
                var request = new HttpRequestMessage(HttpMethod.Put, $"{baseUrl}/{type}/{ids[i]}") { Content = Body(Documents.Json(type, ids[i], n + 1)) };
                request.Headers.TryAddWithoutValidation("If-Match", "W/\"1\"");
                var r = await Timed(stats, "update", () => http.SendAsync(request), HttpStatusCode.OK);
                if (r is not null) await r.Content.ReadAsByteArrayAsync();
            }
            for (var i = 0; i < 4; i++)
                await Timed(stats, "delete", () => http.DeleteAsync($"{baseUrl}/{Documents.Types[i]}/{ids[i]}"), HttpStatusCode.NoContent);
        });
        return (stats, elapsed);
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/fhir+json");

    private static async Task<HttpResponseMessage?> Timed(Stats stats, string name, Func<Task<HttpResponseMessage>> send, HttpStatusCode expected)
    {
        var start = Stopwatch.GetTimestamp();
        var response = await send();
        if (response.StatusCode != expected)
        {
            stats.Error();
            return null;
        }
        stats.Record(name, start);
        return response;
    }
}
