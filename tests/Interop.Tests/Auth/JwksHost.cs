using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Interop.Tests.Auth;

/// <summary>
/// A client's JWKS endpoint on a free 127.0.0.1 port (HttpListener): answers <see cref="Body"/> with
/// <see cref="Status"/> and counts the fetches, so a test can rotate keys, break the answer and see how often the
/// server came.
/// </summary>
public sealed class JwksHost : IDisposable
{
    private readonly HttpListener _listener = new();
    private int _fetches;

    public volatile string Body = """{"keys":[]}""";
    public volatile int Status = 200;
    public string Url { get; }
    public int Fetches => Volatile.Read(ref _fetches);

    public JwksHost()
    {
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}/jwks.json";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Loop();
    }

    /// <summary>A loopback port nothing listens on (for an unreachable jwksUri).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _fetches);
            var bytes = Encoding.UTF8.GetBytes(Body);
            ctx.Response.StatusCode = Status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();
}
