using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Interop.Tests.Subscriptions;

/// <summary>One POST a rest-hook endpoint received: when, its headers and body.</summary>
public sealed record Received(DateTimeOffset At, WebHeaderCollection Headers, string Body);

/// <summary>
/// A real HTTP endpoint on a free 127.0.0.1 port, as a subscriber's system would run it. <paramref name="answer"/> gives
/// the status for the n-th request (1-based); null never answers (a hung subscriber).
/// </summary>
public sealed class HookListener : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<int, int?> _answer;
    private int _count;

    public ConcurrentQueue<Received> Requests { get; } = new();
    public string Url { get; }

    public HookListener(Func<int, int?>? answer = null)
    {
        _answer = answer ?? (_ => 200);
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Loop();
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var reader = new StreamReader(ctx.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var n = Interlocked.Increment(ref _count);
            Requests.Enqueue(new Received(DateTimeOffset.UtcNow, ctx.Request.Headers as WebHeaderCollection ?? new WebHeaderCollection(), body));
            if (_answer(n) is not { } status) continue; // hang: never answer
            ctx.Response.StatusCode = status;
            ctx.Response.Close();
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests have arrived (false after <paramref name="timeout"/>).</summary>
    public async Task<bool> WaitFor(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Requests.Count < count)
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public void Dispose() => _listener.Close();
}
