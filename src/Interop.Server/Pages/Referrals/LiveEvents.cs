using System.Net.WebSockets;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Server.Web;

namespace Interop.Server.Pages.Referrals;

/// <summary>
/// The worklist's live updates: the server's own subscription channel, relayed to the browser as server-sent events.
/// With the user's token it finds (or makes, once per institution and criteria) a websocket Subscription for the tasks
/// owned by the institution and one for those it requested, opens the channel on the local listener, binds both and
/// sends the browser <c>ready</c> once bound and <c>change</c> for each ping. The browser then re-reads its table.
/// </summary>
public sealed class LiveEvents(PageApi api, Uri local, string token)
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(20);

    public static string[] Criteria(string institution) => [$"Task?owner={institution}", $"Task?requester={institution}"];

    /// <summary>The institution's websocket subscriptions for these criteria: the active one of each, else a new one.</summary>
    public async Task<List<string>> Subscriptions(string institution, CancellationToken ct)
    {
        var ids = new List<string>();
        foreach (var criteria in Criteria(institution))
        {
            var existing = await api.SearchAll<Subscription>(
                $"Subscription?criteria:exact={Uri.EscapeDataString(criteria)}&type=websocket&status=active&_count=5", 5, ct);
            if (existing.FirstOrDefault(s => s.Criteria == criteria) is { } found) { ids.Add(found.Id!); continue; }
            var made = (Subscription)await api.Send(HttpMethod.Post, "Subscription", new Subscription
            {
                Status = Subscription.SubscriptionStatus.Requested,
                Reason = "Referral worklist page: live updates",
                Criteria = criteria,
                Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.Websocket },
            }, ct);
            ids.Add(made.Id!);
        }
        return ids;
    }

    /// <summary>Relays the channel to <paramref name="response"/> as text/event-stream until the browser goes away.</summary>
    public async System.Threading.Tasks.Task Relay(HttpResponse response, IReadOnlyList<string> subscriptions, CancellationToken ct)
    {
        response.Headers.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        using var writing = new SemaphoreSlim(1, 1);
        async System.Threading.Tasks.Task Write(string text)
        {
            await writing.WaitAsync(ct);
            try { await response.WriteAsync(text, ct); await response.Body.FlushAsync(ct); }
            finally { writing.Release(); }
        }
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        var address = new UriBuilder(new Uri(local, "fhir/$subscription-websocket")) { Scheme = local.Scheme == "https" ? "wss" : "ws" }.Uri;
        await socket.ConnectAsync(address, ct);
        foreach (var id in subscriptions)
            await socket.SendAsync(Encoding.UTF8.GetBytes("bind " + id), WebSocketMessageType.Text, true, ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var beat = Beat(Write, stop.Token);
        try
        {
            var bound = new HashSet<string>();
            while (await Receive(socket, ct) is { } message)
            {
                var parts = message.Split(' ', 3);
                switch (parts[0])
                {
                    case "bound" when parts.Length > 1:
                        bound.Add(parts[1]);
                        if (bound.Count == subscriptions.Count) await Write("event: ready\ndata: " + string.Join(",", bound) + "\n\n");
                        break;
                    case "ping" when parts.Length > 1:
                        await Write("event: change\ndata: " + parts[1] + "\n\n");
                        break;
                    case "error":
                        await Write("event: failed\ndata: " + message.Replace('\n', ' ') + "\n\n");
                        break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // the browser went away, or the channel closed: the browser's EventSource reconnects
        }
        finally
        {
            await stop.CancelAsync();
            try { await beat; } catch (OperationCanceledException) { }
            if (socket.State == WebSocketState.Open)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try { await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, closing.Token); }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
            }
        }
    }

    // A comment line every 20 s keeps proxies from closing a quiet stream.
    private static async System.Threading.Tasks.Task Beat(Func<string, System.Threading.Tasks.Task> write, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await System.Threading.Tasks.Task.Delay(KeepAlive, ct);
            try { await write(": keep-alive\n\n"); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { return; }
        }
    }

    private static async Task<string?> Receive(ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[1024];
        using var text = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            text.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return Encoding.UTF8.GetString(text.ToArray());
            if (text.Length > 64 * 1024) return null;
        }
    }
}
