using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Interop.Server.Web;

/// <summary>
/// Where this server listens on this machine, for the pages' calls to its own FHIR API and authorisation server
/// (the user's token, the same HTTP path as any client). Pages:LocalUrl overrides it (e.g. behind an unusual bind);
/// otherwise the first http address Kestrel bound, with a wildcard host read as 127.0.0.1.
/// </summary>
public sealed class LocalListener(IServer server, IConfiguration configuration)
{
    private readonly SocketsHttpHandler _sockets = new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false };
    private Uri? _address;

    public Uri Address => _address ??= Find();

    /// <summary>An HTTP client of the local listener (base address its root); share nothing but the connection pool.</summary>
    public HttpClient Client() => new(_sockets, disposeHandler: false) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(100) };

    /// <summary>A handler that sends requests for <paramref name="publicRoot"/> (the issuer) to the local listener instead.</summary>
    public HttpMessageHandler Rewriting(Uri publicRoot) => new RewriteHandler(this, publicRoot) { InnerHandler = _sockets };

    private Uri Find()
    {
        if (configuration["Pages:LocalUrl"] is { Length: > 0 } configured) return new Uri(configured.TrimEnd('/') + "/");
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var chosen = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server listens on no address yet: the pages cannot reach its API (set Pages:LocalUrl).");
        var uri = new UriBuilder(chosen.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1"));
        if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "127.0.0.1";
        uri.Path = "/";
        return uri.Uri;
    }

    private sealed class RewriteHandler(LocalListener local, Uri publicRoot) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.RequestUri is { } uri && uri.GetLeftPart(UriPartial.Authority) == publicRoot.GetLeftPart(UriPartial.Authority))
                request.RequestUri = new Uri(local.Address, uri.PathAndQuery);
            return base.SendAsync(request, ct);
        }
    }
}
