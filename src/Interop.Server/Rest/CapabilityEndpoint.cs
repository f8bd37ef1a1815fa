using Interop.Fhir.Indexing;
using Interop.Fhir.Model;
using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Interop.Fhir.Search;

namespace Interop.Server.Rest;

/// <summary>
/// GET /metadata: a CapabilityStatement generated from what is implemented. Capabilities added later
/// (search parameters, operations) extend <see cref="Build"/>.
/// </summary>
public static class CapabilityEndpoint
{
    private static readonly ConcurrentDictionary<string, CapabilityStatement> Cache = new();

    public static async Task<IResult> Get(HttpContext ctx, Interop.Fhir.Validation.Conformance conformance, Interop.Fhir.Storage.SearchParamCatalog catalog)
    {
        FhirHttp.Output(ctx);
        var baseUrl = FhirHttp.BaseUrl(ctx);
        // The profiles and search parameters the server knows change at run time (an admin's upload): one statement per set of them.
        var set = await conformance.Current(ctx.RequestAborted);
        var known = catalog.Current;
        // While a stored parameter is being indexed the statement says how far (read fresh each time, not cached).
        if (known.Extended.Any(t => known.For(t).Values.Any(p => p.Pending)))
            return FhirResults.Resource(WithSearchParams(WithProfiles(Build(baseUrl), set), known, await catalog.Progress(ctx.RequestAborted)));
        if (Cache.Count > 16) Cache.Clear();
        var key = $"{baseUrl}|{set.Generation}|{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(known)}";
        return FhirResults.Resource(Cache.GetOrAdd(key, _ => WithSearchParams(WithProfiles(Build(baseUrl), set), known, null)));
    }

    /// <summary>searchParam of the types with SearchParameters stored at run time; one being indexed says how far it is.</summary>
    private static CapabilityStatement WithSearchParams(CapabilityStatement statement, SearchParams known,
        IReadOnlyDictionary<string, Interop.Fhir.Storage.BackfillProgress>? progress)
    {
        foreach (var resource in statement.Rest[0].Resource.Where(r => known.Extended.Contains(r.Type)))
        {
            var parameters = known.For(resource.Type!).Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
            resource.SearchParam = parameters.Select(p => new CapabilityStatement.SearchParamComponent
            {
                Name = p.Name, Definition = p.Url, Type = p.Type,
                Documentation = !p.Pending ? Modifiers(p)
                    : progress?.GetValueOrDefault(p.DefinedBy ?? "") is { } at
                        ? $"Being indexed: {at.Indexed:N0} of {at.Total:N0} existing resources (SearchParameter/{p.DefinedBy}); searches with it are refused (409) until it is done. {Modifiers(p)}"
                        : $"Being indexed (SearchParameter/{p.DefinedBy}); searches with it are refused (409) until it is done. {Modifiers(p)}",
            }).ToList();
            resource.SearchInclude = ["*", .. parameters.Where(p => p.Type == SearchParamType.Reference).Select(p => $"{resource.Type}:{p.Name}")];
        }
        return statement;
    }

    /// <summary>supportedProfile: the group's profiles of each type; $validate everywhere; the terminology operations.</summary>
    private static CapabilityStatement WithProfiles(CapabilityStatement statement, Interop.Fhir.Validation.Conformance.Set set)
    {
        var rest = statement.Rest[0];
        foreach (var resource in rest.Resource)
        {
            resource.SupportedProfile = set.Profiles.Values.Where(p => p.Type == resource.Type && p.Kind == StructureDefinition.StructureDefinitionKind.Resource)
                .Select(p => p.Url).Order(StringComparer.Ordinal).ToList();
            resource.Operation.Add(new CapabilityStatement.OperationComponent
            {
                Name = "validate", Definition = "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                Documentation = "R4 rules, meta.profile and the profiles the server enforces, or the profile parameter; mode create, update, delete",
            });
        }
        foreach (var (type, name) in new[] { ("ValueSet", "expand"), ("ValueSet", "validate-code"), ("CodeSystem", "lookup"), ("CodeSystem", "validate-code") })
            rest.Resource.Single(r => r.Type == type).Operation.Add(new CapabilityStatement.OperationComponent
            {
                Name = name, Definition = $"http://hl7.org/fhir/OperationDefinition/{type}-{name}",
                Documentation = "Local terminology: the specification's and the group's ValueSets and CodeSystems (SNOMED CT and LOINC only where a ValueSet lists codes)",
            });
        rest.Resource.Single(r => r.Type == "EpisodeOfCare").Operation.Add(new CapabilityStatement.OperationComponent
        {
            Name = "renew", Definition = "urn:interop:operation:EpisodeOfCare-renew",
            Documentation = "EpisodeOfCare/{id}/$renew: a family-doctor contract for another year from today, optionally with another GP of the station (careManager, team)",
        });
        foreach (var (type, name, doc) in new[]
                 {
                     ("Patient", "enrol", "Patient/{id}/$enrol: case management of a chronic condition for a contracted resident (condition, specialist, team)"),
                     ("Patient", "stratify", "Patient/{id}/$stratify and /$stratify (organization): risk stratification, a RiskAssessment per resident and run"),
                     ("PlanDefinition", "apply", "PlanDefinition/{id}/$apply?subject=Patient/{id}: a draft individual care plan from the group's template, not stored"),
                 })
            rest.Resource.Single(r => r.Type == type).Operation.Add(new CapabilityStatement.OperationComponent { Name = name, Definition = $"urn:interop:operation:{type}-{name}", Documentation = doc });
        rest.Resource.Single(r => r.Type == "Measure").Operation.Add(new CapabilityStatement.OperationComponent
        {
            Name = "evaluate-measure", Definition = "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
            Documentation = "The group's indicators (summary reports): periodStart, periodEnd, reporter (Organization/x: its residents only); computed in SQL over the search index",
        });
        return statement;
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
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.SearchSystem },
            ],
        };
        rest.SearchParam.Add(new CapabilityStatement.SearchParamComponent
        {
            Name = "_type", Type = SearchParamType.Token, Documentation = "Resource types for a system search (GET /fhir?_type=...).",
        });
        foreach (var type in ResourceTypes.All.Order(StringComparer.Ordinal))
        {
            var parameters = SearchParamRegistry.For(type).Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
            var references = parameters.Where(p => p.Type == SearchParamType.Reference).ToList();
            rest.Resource.Add(new CapabilityStatement.ResourceComponent
            {
                SearchParam = parameters.Select(p => new CapabilityStatement.SearchParamComponent
                {
                    Name = p.Name, Definition = p.Url, Type = p.Type, Documentation = Modifiers(p),
                }).ToList(),
                SearchInclude = ["*", .. references.Select(p => $"{type}:{p.Name}")],
                SearchRevInclude = ["*"],
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
                    Interaction(CapabilityStatement.TypeRestfulInteraction.SearchType),
                ],
            });
        }
        var patient = rest.Resource.Single(r => r.Type == "Patient");
        foreach (var (name, doc) in new[]
                 {
                     ("match", "Patient/$match: registrations of the same person, scored and graded"),
                     ("merge", "Patient/$merge: a duplicate becomes replaced-by the survivor (linking; references unchanged)"),
                     ("everything", "Patient/{id}/$everything: the patient, linked registrations, their compartments and what those reference"),
                 })
            patient.Operation.Add(new CapabilityStatement.OperationComponent { Name = name, Definition = $"http://hl7.org/fhir/OperationDefinition/Patient-{name}", Documentation = doc });
        rest.Interaction.Add(new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.Transaction });
        rest.Interaction.Add(new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.Batch });
        foreach (var resource in rest.Resource)
        {
            resource.ConditionalCreate = true;
            resource.ConditionalUpdate = true;
            resource.ConditionalDelete = CapabilityStatement.ConditionalDeleteStatus.Single;
            resource.Interaction.Add(Interaction(CapabilityStatement.TypeRestfulInteraction.Patch));
        }
        AccessLog(rest.Resource.Single(r => r.Type == "AuditEvent"));
        rest.Security = Security(baseUrl);
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

    // SMART App Launch: the service, and where its endpoints are (also at .well-known/smart-configuration).
    private static CapabilityStatement.SecurityComponent Security(string baseUrl)
    {
        var root = baseUrl.EndsWith("/fhir", StringComparison.Ordinal) ? baseUrl[..^5] : baseUrl;
        var security = new CapabilityStatement.SecurityComponent
        {
            Service = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR")],
            Description = "OAuth 2.0 bearer tokens (SMART App Launch 2.0): authorization code with PKCE, client credentials with a " +
                          "secret or a signed assertion; scopes v1 and v2. See .well-known/smart-configuration.",
        };
        var uris = new Extension { Url = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" };
        foreach (var (name, path) in new[] { ("authorize", "authorize"), ("token", "token"), ("introspect", "introspect"), ("revoke", "revoke") })
            uris.Extension.Add(new Extension(name, new FhirUri($"{root}/auth/{path}")));
        security.Extension.Add(uris);
        return security;
    }

    // AuditEvent is the access log: read and searched (its own parameters), written by the server alone.
    private static void AccessLog(CapabilityStatement.ResourceComponent audit)
    {
        audit.Interaction = [Interaction(CapabilityStatement.TypeRestfulInteraction.Read), Interaction(CapabilityStatement.TypeRestfulInteraction.SearchType)];
        audit.ConditionalCreate = audit.ConditionalUpdate = false;
        audit.ConditionalDelete = CapabilityStatement.ConditionalDeleteStatus.NotSupported;
        audit.SearchInclude = [];
        audit.SearchRevInclude = [];
        audit.Documentation = "The access log: one record per request, written by the server only; auditors (role auditor, system/AuditEvent scopes) " +
                              "read it all, a resident (patient/AuditEvent.rs) the records about them. Hash-chained: $verify.";
        audit.SearchParam = Interop.Fhir.Audit.AuditQuery.Parameters.Select(name => new CapabilityStatement.SearchParamComponent
        {
            Name = name,
            Type = name switch
            {
                "date" => SearchParamType.Date,
                "patient" or "entity" or "agent-org" => SearchParamType.Reference,
                _ => SearchParamType.Token,
            },
        }).ToList();
        foreach (var (name, doc) in new[]
                 {
                     ("verify", "AuditEvent/$verify?start&end: the hash chains, intact with the count checked or the first broken link"),
                     ("access-report", "AuditEvent/$access-report?patient&start&end: who (person, institution) accessed the record, when; _format=text/csv"),
                     ("export", "AuditEvent/$export?start&end: the records of a period as NDJSON"),
                 })
            audit.Operation.Add(new CapabilityStatement.OperationComponent { Name = name, Definition = $"urn:interop:operation:AuditEvent-{name}", Documentation = doc });
    }

    private static string Modifiers(SearchParam p) => p.Type switch
    {
        SearchParamType.String => "Modifiers: :exact :contains :missing. Default: case- and accent-insensitive starts-with.",
        SearchParamType.Token => "Modifiers: :not :text :missing" + (p.Name == "identifier" ? " :of-type" : "") + ".",
        SearchParamType.Reference => "Modifiers: :[Type] :identifier :missing; chaining (name.param) and _has.",
        SearchParamType.Uri => "Modifiers: :below :above :missing.",
        SearchParamType.Date or SearchParamType.Number or SearchParamType.Quantity => "Prefixes eq ne gt lt ge le sa eb ap; :missing.",
        SearchParamType.Composite => "Value: first$second, e.g. http://loinc.org|8480-6$gt140.",
        _ => "PostgreSQL full text (websearch syntax).",
    };

    private static CapabilityStatement.ResourceInteractionComponent Interaction(CapabilityStatement.TypeRestfulInteraction code) =>
        new() { Code = code };
}
