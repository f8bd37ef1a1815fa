namespace Interop.Server.Hosting;

/// <summary>Settings under "Fhir" in configuration (environment: Fhir__MaxBodyBytes and so on).</summary>
public sealed class FhirOptions
{
    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 10 * 1024 * 1024;
    /// <summary>Most entries a transaction or batch Bundle may have; more get 413.</summary>
    public int MaxBundleEntries { get; set; } = 10_000;
    public int DefaultPageSize { get; set; } = 50;
    public int MaxPageSize { get; set; } = 1000;
    /// <summary>Public base URL (e.g. https://fhir.example.org/fhir) when behind a proxy; derived from the request otherwise.</summary>
    public string? BaseUrl { get; set; }
}
