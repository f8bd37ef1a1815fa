using Interop.Fhir.Model;
using System.Collections.Concurrent;
using Hl7.Fhir.Model;

namespace Interop.Server.Rest;

/// <summary>
/// GET /metadata: a CapabilityStatement generated from what is implemented. Capabilities added later
/// (search parameters, operations) extend <see cref="Build"/>.
/// </summary>
public static class CapabilityEndpoint
{
    private static readonly ConcurrentDictionary<string, CapabilityStatement> Cache = new();

    public static IResult Get(HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        var baseUrl = FhirHttp.BaseUrl(ctx);
        return FhirResults.Resource(Cache.GetOrAdd(baseUrl, Build));
    }

    public static CapabilityStatement Build(string baseUrl)
    {
        var version = typeof(CapabilityEndpoint).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";
        var rest = new CapabilityStatement.RestComponent
        {
            Mode = CapabilityStatement.RestfulCapabilityMode.Server,
            Documentation = "Interop: one shared record of each resident across the hospital group.",
            Interaction =
            [
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.HistorySystem },
            ],
        };
        foreach (var type in ResourceTypes.All.Order(StringComparer.Ordinal))
        {
            rest.Resource.Add(new CapabilityStatement.ResourceComponent
            {
                Type = type,
                Profile = $"http://hl7.org/fhir/StructureDefinition/{type}",
                Versioning = CapabilityStatement.ResourceVersionPolicy.Versioned,
                ReadHistory = true,
                UpdateCreate = true,
                ConditionalRead = CapabilityStatement.ConditionalReadStatus.FullSupport,
                Interaction =
                [
                    Interaction(CapabilityStatement.TypeRestfulInteraction.Read),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.Vread),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.Update),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.Delete),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.Create),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.HistoryInstance),
                    Interaction(CapabilityStatement.TypeRestfulInteraction.HistoryType),
                ],
            });
        }
        return new CapabilityStatement
        {
            Url = baseUrl + "/metadata",
            Name = "Interop",
            Title = "Interop FHIR R4 server",
            Status = PublicationStatus.Active,
            Date = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd"),
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "Interop", Version = version },
            Implementation = new CapabilityStatement.ImplementationComponent { Description = "Interop FHIR R4 server", Url = baseUrl },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = ["application/fhir+json", "application/fhir+xml", "json", "xml"],
            Rest = [rest],
        };
    }

    private static CapabilityStatement.ResourceInteractionComponent Interaction(CapabilityStatement.TypeRestfulInteraction code) =>
        new() { Code = code };
}
