using System.Net.WebSockets;
using System.Text;
using Interop.Fhir.Errors;
using Interop.Fhir.Subscriptions;

namespace Interop.Server.Rest;

/// <summary>
/// GET /fhir/$subscription-websocket: the R4 websocket channel. The upgrade request carries the bearer token (401
/// without one); the client sends <c>bind &lt;id&gt;</c> per subscription, the server answers <c>bound &lt;id&gt;</c> —
/// or <c>error &lt;id&gt; &lt;reason&gt;</c> when the pipeline refuses the binding (another institution's subscription,
/// no read scope on Subscription, not a websocket channel) — and sends <c>ping &lt;id&gt;</c> for each notification.
/// </summary>
public static class SubscriptionSocketEndpoint
{
    private const int MaxMessage = 1024;

    public static async Task<IResult> Connect(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
            throw FhirException.BadRequest("$subscription-websocket is a websocket: connect with an Upgrade: websocket request, then send bind <subscription-id>.", "Upgrade");
        if (!FhirHttp.Context(ctx).Caller.Authenticated) throw FhirException.Unauthenticated();
        var ct = ctx.RequestAborted;
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
        using var sending = new SemaphoreSlim(1, 1);
        async Task Send(string text)
        {
            await sending.WaitAsync(ct);
            try { await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, ct); }
            finally { sending.Release(); }
        }
        var hub = ctx.RequestServices.GetRequiredService<SocketHub>();
        var bindings = new List<IDisposable>();
        try
        {
            while (await Receive(socket, ct) is { } message)
            {
                var parts = message.Trim().Split(' ', 2, StringSplitOptions.TrimEntries);
                if (parts is not ["bind", { Length: > 0 } id])
                {
                    await Send("error send bind <subscription-id>");
                    continue;
                }
                try
                {
                    await ctx.Send<BindResult>(new SubscriptionBindRequest(id));
                    bindings.Add(hub.Bind(id, Send));
                    await Send("bound " + id);
                }
                catch (FhirException e)
                {
                    await Send($"error {id} {e.Message}");
                }
            }
            if (socket.State == WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the client went away
        }
        finally
        {
            foreach (var binding in bindings) binding.Dispose();
        }
        return Results.Empty;
    }

    // One text message, or null when the client closes; a message over MaxMessage closes the socket.
    private static async Task<string?> Receive(WebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[MaxMessage];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            length += result.Count;
            if (result.EndOfMessage) return Encoding.UTF8.GetString(buffer, 0, length);
            if (length == buffer.Length)
            {
                await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, $"messages are at most {MaxMessage} bytes", ct);
                return null;
            }
        }
    }
}
