using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;

namespace Interop.Server.Web;

/// <summary>
/// The pages' way to the data: this server's FHIR REST API over HTTP, with the signed-in user's access token — the
/// same gate, scopes, access policy and access log as any client; the pages never read the database themselves.
/// Failures come back as <see cref="PageApiException"/> carrying the status and the OperationOutcome's text.
/// </summary>
public sealed class PageApi(HttpClient http, string token)
{
    /// <summary>The reason of a break-glass access, sent as X-Break-Glass with every call when set.</summary>
    public string? BreakGlass { get; set; }

    public async Task<T> Read<T>(string path, CancellationToken ct) where T : Resource => (T)await Send(HttpMethod.Get, path, null, ct);

    /// <summary>A search (path and query relative to the FHIR base, e.g. "Task?owner=Organization/x"), one page.</summary>
    public async Task<Bundle> Search(string pathAndQuery, CancellationToken ct) => (Bundle)await Send(HttpMethod.Get, pathAndQuery, null, ct);

    /// <summary>Every page of a search, up to <paramref name="max"/> matches (the API's next links, followed as given).</summary>
    public async Task<List<T>> SearchAll<T>(string pathAndQuery, int max, CancellationToken ct) where T : Resource
    {
        var found = new List<T>();
        var next = pathAndQuery;
        while (next is not null && found.Count < max)
        {
            var page = await Search(next, ct);
            found.AddRange(page.Entry.Where(e => e.Search?.Mode != Bundle.SearchEntryMode.Include).Select(e => e.Resource).OfType<T>());
            next = page.NextLink?.ToString();
        }
        return found.Count > max ? found[..max] : found;
    }

    public Task<Resource> Send(HttpMethod method, string path, Resource? body, CancellationToken ct) => Send(method, path, body, null, ct);

    /// <summary>Any interaction; <paramref name="ifMatch"/> is a version id for optimistic locking.</summary>
    public async Task<Resource> Send(HttpMethod method, string path, Resource? body, string? ifMatch, CancellationToken ct)
    {
        using var response = await Raw(method, path, body, ifMatch, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw PageApiException.From(response.StatusCode, text);
        // The server's own answer, parsed as its stored JSON is: leniently (an access-log record written before the
        // empty-entity fix, for instance, still shows).
        return FhirSerialization.ParseStored(text);
    }

    /// <summary>The raw answer (e.g. for a CSV or a body streamed on); the caller disposes it.</summary>
    public Task<HttpResponseMessage> Raw(HttpMethod method, string path, Resource? body, string? ifMatch, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, Relative(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        if (BreakGlass is { Length: > 0 } reason) request.Headers.TryAddWithoutValidation(Rest.FhirHttp.BreakGlassHeader, reason);
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", $"W/\"{ifMatch}\"");
        if (body is not null) request.Content = new StringContent(FhirSerialization.ToJson(body), Encoding.UTF8, "application/fhir+json");
        return http.SendAsync(request, ct);
    }

    // Next links are absolute, on the public base URL: only their path and query are followed, on the local listener.
    private static string Relative(string path)
    {
        if (Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
            return absolute.PathAndQuery.TrimStart('/');
        return "fhir/" + path.TrimStart('/');
    }
}

/// <summary>The API refused or failed: the status, and the OperationOutcome's diagnostics as text a page can show.</summary>
public sealed class PageApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public bool Forbidden => Status is HttpStatusCode.Forbidden;

    public static PageApiException From(HttpStatusCode status, string body)
    {
        string text;
        try
        {
            var outcome = (OperationOutcome)FhirSerialization.ParseStored(body);
            text = string.Join(" ", outcome.Issue.Select(i => i.Diagnostics ?? i.Details?.Text).Where(t => !string.IsNullOrEmpty(t)));
        }
        catch (Exception)
        {
            text = body.Length > 300 ? body[..300] : body;
        }
        return new PageApiException(status, text.Length > 0 ? text : status.ToString());
    }
}
