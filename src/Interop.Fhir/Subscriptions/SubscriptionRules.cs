using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Transactions;
using ChannelType = Hl7.Fhir.Model.Subscription.SubscriptionChannelType;
using Status = Hl7.Fhir.Model.Subscription.SubscriptionStatus;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// What a Subscription must be for this server to serve it, checked inside every write of one (REST, bundle entry,
/// patch, import): criteria that parse as a search of their type, a rest-hook or websocket channel, an https
/// endpoint (or http on this machine; Subscriptions:AllowedHosts narrows the hosts), payload empty or
/// application/fhir+json, headers "Name: value". A requested subscription is stored active: the dispatcher serves it
/// from then on. A refusal is a 422 naming the element.
/// </summary>
public sealed partial class SubscriptionRules(SubscriptionOptions options) : IWriteRule
{
    public const string JsonPayload = "application/fhir+json";
    private static readonly HashSet<string> Loopback = ["localhost", "127.0.0.1", "[::1]", "::1"];

    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}:[^\r\n\x00]{0,1000}$")]
    private static partial Regex HeaderPattern();

    public bool Governs(string type) => type == "Subscription";

    public System.Threading.Tasks.Task Check(RuleWrite write, CancellationToken ct)
    {
        if (write.Resource is not Subscription subscription) return System.Threading.Tasks.Task.CompletedTask;
        if (subscription.Status is null) throw Rule("A Subscription needs a status (requested, to have it served).", "Subscription.status");
        SubscriptionCriteria.Parse(subscription.Criteria);
        var channel = subscription.Channel ?? throw Rule("A Subscription needs a channel (rest-hook or websocket).", "Subscription.channel");
        switch (channel.Type)
        {
            case ChannelType.RestHook:
                CheckEndpoint(channel.Endpoint);
                break;
            case ChannelType.Websocket:
                break;
            default:
                throw Rule($"Channel type '{channel.TypeElement?.JsonValue ?? "(none)"}' is not supported: this server delivers rest-hook and websocket.", "Subscription.channel.type");
        }
        if (!string.IsNullOrEmpty(channel.Payload) && channel.Payload != JsonPayload)
            throw Rule($"Payload '{channel.Payload}' is not supported: leave it out (an empty notification) or use {JsonPayload}.", "Subscription.channel.payload");
        var headers = channel.Header.ToList();
        for (var i = 0; i < headers.Count; i++)
            if (headers[i] is not { } header || !HeaderPattern().IsMatch(header))
                throw Rule($"Header '{headers[i]}' must be \"Name: value\" on one line (such as \"Authorization: Bearer …\").", $"Subscription.channel.header[{i}]");
        if (subscription.Status == Status.Requested) subscription.Status = Status.Active;
        return System.Threading.Tasks.Task.CompletedTask;
    }

    private void CheckEndpoint(string? endpoint)
    {
        const string where = "Subscription.channel.endpoint";
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw Rule($"A rest-hook needs an absolute http(s) endpoint; '{endpoint}' is not one.", where);
        var loopback = Loopback.Contains(uri.Host);
        if (uri.Scheme == "http" && !loopback)
            throw Rule($"The endpoint {endpoint} must use https (plain http only to localhost or 127.0.0.1).", where);
        if (!loopback && options.AllowedHosts.Length > 0 && !options.AllowedHosts.Contains(uri.Host, StringComparer.OrdinalIgnoreCase))
            throw Rule($"The endpoint's host {uri.Host} is not one this server delivers to (Subscriptions:AllowedHosts).", where);
    }

    private static FhirException Rule(string message, string expression) =>
        FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.BusinessRule, message, expression);
}
