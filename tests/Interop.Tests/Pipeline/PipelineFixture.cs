using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Indexing;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Search;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Interop.Tests.Pipeline;

/// <summary>
/// The real server with three test behaviours in the pipeline: one records every call at every stage, one refuses
/// every interaction on Consent (as an access policy would), and one adds a mandatory criterion to searches of
/// Basic before they become SQL (as the next issue's access criterion will).
/// </summary>
public sealed class PipelineFixture : FhirServerFixture
{
    public Recorder Calls { get; } = new();

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        foreach (var stage in Enum.GetValues<Stage>()) services.AddSingleton<IInteractionBehaviour>(new Recording(stage, Calls));
        services.AddSingleton<IInteractionBehaviour, DenyConsent>();
        services.AddSingleton<IInteractionBehaviour, OnlyAllowedBasic>();
    }

    public sealed record Seen(Stage Stage, Interaction Interaction, string? Type, string? Id, string? Operation, string Client,
        string CorrelationId, Interaction? Parent, string? Outcome);

    public sealed class Recorder
    {
        private readonly ConcurrentQueue<Seen> _seen = new();
        public void Add(Seen seen) => _seen.Enqueue(seen);
        /// <summary>The calls a test made: those of its own client name.</summary>
        public List<Seen> Of(string client) => _seen.Where(s => s.Client == client).ToList();
    }

    private sealed class Recording(Stage stage, Recorder recorder) : IInteractionBehaviour
    {
        public Stage Stage => stage;

        public ValueTask Before(InteractionCall call, CancellationToken ct)
        {
            Record(call, null);
            return ValueTask.CompletedTask;
        }

        public ValueTask After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct)
        {
            Record(call, error is not null ? error.Kind.ToString() : result!.Kind.ToString());
            return ValueTask.CompletedTask;
        }

        private void Record(InteractionCall call, string? outcome) => recorder.Add(new Seen(stage, call.Interaction, call.Request.ResourceType,
            call.Request.Id, call.Request.Operation, call.Context.Caller.Client, call.Context.CorrelationId, call.Parent?.Interaction, outcome));
    }

    private sealed class DenyConsent : IInteractionBehaviour
    {
        public Stage Stage => Stage.Authorise;

        public ValueTask Before(InteractionCall call, CancellationToken ct) =>
            call.Request.ResourceType == "Consent" || call.Request is SearchRequest { Query.Types: var types } && types.Contains("Consent")
            || call.Request is ChangesRequest && call.Context.Caller.Client.StartsWith("restricted", StringComparison.Ordinal)
                ? throw FhirException.Forbidden($"{call.Interaction} on {call.Request.ResourceType ?? call.Request.Operation} is not allowed for this caller.")
                : ValueTask.CompletedTask;
    }

    public const string AllowedSystem = "urn:test:allowed";

    private sealed class OnlyAllowedBasic : IInteractionBehaviour
    {
        public Stage Stage => Stage.Authorise;

        public ValueTask Before(InteractionCall call, CancellationToken ct)
        {
            if (call.Request is SearchRequest { Query: { Types: ["Basic"] } query })
                query.Criteria.Add(SearchQueryParser.Criterion("Basic", "identifier", AllowedSystem + "|"));
            return ValueTask.CompletedTask;
        }
    }
}
