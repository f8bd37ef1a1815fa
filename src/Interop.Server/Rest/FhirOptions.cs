using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>Settings under "Fhir" in configuration (environment: Fhir__MaxBodyBytes and so on).</summary>
public sealed class FhirOptions
{
    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 10 * 1024 * 1024;
    /// <summary>Most entries a transaction or batch Bundle may have; more get 413.</summary>
    public int MaxBundleEntries { get; set; } = 10_000;
    public int DefaultPageSize { get; set; } = 50;
    public int MaxPageSize { get; set; } = 1000;
    /// <summary>
    /// Public base URL (e.g. https://fhir.example.org/fhir) used in Location headers, fullUrls and paging links.
    /// When unset it is taken from the first listening URL (ASPNETCORE_URLS) at start; never from the request's
    /// Host header, which any client can set.
    /// </summary>
    public string? BaseUrl { get; set; }
}

/// <summary>Fills <see cref="FhirOptions.BaseUrl"/> from the listening URLs when it is not configured.</summary>
public sealed class BaseUrlSetup(IConfiguration configuration) : IPostConfigureOptions<FhirOptions>
{
    public void PostConfigure(string? name, FhirOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.BaseUrl)) { options.BaseUrl = options.BaseUrl.TrimEnd('/'); return; }
        var first = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null) { options.BaseUrl = "http://localhost/fhir"; return; }
        var uri = first.Replace("://+", "://localhost").Replace("://*", "://localhost").Replace("://0.0.0.0", "://localhost").Replace("://[::]", "://localhost");
        options.BaseUrl = uri.TrimEnd('/') + "/fhir";
    }
}
