using System.Text;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// One rest-hook notification: a POST to the channel's endpoint with its headers and <c>X-Subscription-Id</c>; the body
/// empty (no payload) or, for application/fhir+json, a history Bundle holding the resource. Any 2xx answer is a
/// delivery; another status, no answer within Subscriptions:TimeoutSeconds or a network error is a failure, whose
/// reason is returned. Redirects are not followed.
/// </summary>
public sealed class RestHookSender(SubscriptionOptions options) : IDisposable
{
    public const string IdHeader = "X-Subscription-Id";

    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
    };

    /// <summary>Sends the notification; null when delivered, else why not.</summary>
    public async Task<string?> Send(ActiveSubscription subscription, Delivery delivery, CancellationToken ct)
    {
        var endpoint = subscription.Resource.Channel.Endpoint;
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        request.Headers.TryAddWithoutValidation(IdHeader, subscription.Id);
        foreach (var header in subscription.Resource.Channel.Header.OfType<string>())
        {
            var colon = header.IndexOf(':');
            request.Headers.TryAddWithoutValidation(header[..colon], header[(colon + 1)..].Trim());
        }
        request.Content = delivery.Payload is null
            ? new ByteArrayContent([])
            : new StringContent(History(delivery), Encoding.UTF8, SubscriptionRules.JsonPayload);
        try
        {
            using var response = await _http.SendAsync(request, ct);
            return response.IsSuccessStatusCode ? null : $"{endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"{endpoint} did not answer within {options.TimeoutSeconds} s";
        }
        catch (HttpRequestException e)
        {
            return $"{endpoint} could not be reached: {e.Message}";
        }
    }

    private static string History(Delivery delivery)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.History, Timestamp = DateTimeOffset.UtcNow };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            Resource = FhirSerialization.ParseStored(delivery.Payload!),
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = delivery.ResourceKey },
            Response = new Bundle.ResponseComponent { Status = "200" },
        });
        return FhirSerialization.ToJson(bundle);
    }

    public void Dispose() => _http.Dispose();
}
