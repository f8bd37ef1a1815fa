using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Pipeline;

/// <summary>Runs one kind of request: the execute stage of the pipeline.</summary>
public interface IHandler
{
    Type RequestType { get; }
    Task<InteractionResult> Handle(FhirRequest request, InteractionCall call, CancellationToken ct);
}

/// <summary>The handler of requests of type <typeparamref name="TRequest"/>.</summary>
public abstract class Handler<TRequest> : IHandler where TRequest : FhirRequest
{
    public Type RequestType => typeof(TRequest);

    public Task<InteractionResult> Handle(FhirRequest request, InteractionCall call, CancellationToken ct) =>
        Handle((TRequest)request, call, ct);

    protected abstract Task<InteractionResult> Handle(TRequest request, InteractionCall call, CancellationToken ct);
}

/// <summary>
/// The one way to the data. Every caller sends a request with its context; the pipeline runs the behaviours
/// of each stage in order around the request's one handler. Bundle entries pass the authorise and validate
/// stages one by one before their transaction runs, and the audit and publish stages after it.
/// </summary>
public sealed class FhirPipeline
{
    private readonly IInteractionBehaviour[] _before;
    private readonly IInteractionBehaviour[] _after;
    private readonly Dictionary<Type, IHandler> _handlers;

    public FhirPipeline(IEnumerable<IInteractionBehaviour> behaviours, IEnumerable<IHandler> handlers)
    {
        var all = behaviours.OrderBy(b => b.Stage).ToList();
        _before = all.Where(b => b.Stage is Stage.Authorise or Stage.Validate).ToArray();
        _after = all.Where(b => b.Stage is Stage.Audit or Stage.Publish).ToArray();
        _handlers = handlers.ToDictionary(h => h.RequestType);
    }

    /// <summary>The request types that have a handler (an architecture test checks there is one for each).</summary>
    public IReadOnlyCollection<Type> Handled => _handlers.Keys;

    public async Task<TResult> Send<TResult>(RequestContext context, FhirRequest request, CancellationToken ct) where TResult : InteractionResult =>
        (TResult)await Run(new InteractionCall(context, request) { Pipeline = this }, ct);

    public async Task<InteractionResult> Run(InteractionCall call, CancellationToken ct)
    {
        if (!_handlers.TryGetValue(call.Request.GetType(), out var handler))
            throw new InvalidOperationException($"No handler for {call.Request.GetType().Name}.");
        InteractionResult result;
        try
        {
            await Before(call, ct);
            result = await handler.Handle(call.Request, call, ct);
        }
        catch (Exception e) when (Failure(e) is { } error)
        {
            await After(call, null, error, ct);
            throw;
        }
        await After(call, result, null, ct);
        return result;
    }

    private async Task Before(InteractionCall call, CancellationToken ct)
    {
        foreach (var b in _before) await b.Before(call, ct);
    }

    private async Task After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct)
    {
        foreach (var b in _after) await b.After(call, result, error, ct);
    }

    // What a failure means to the audit stage; a cancelled call (the client left) is not an outcome.
    private static FhirException? Failure(Exception e) => e switch
    {
        OperationCanceledException => null,
        FhirException f => f,
        _ => DatabaseErrors.Classify(e) ?? FhirException.Of(ErrorKind.Internal, Hl7.Fhir.Model.OperationOutcome.IssueType.Exception, "Internal error."),
    };

    /// <summary>The gate a bundle's entries pass through inside a transaction or batch handler.</summary>
    public IEntryGate Entries(InteractionCall parent) => new EntryGate(this, parent);

    private sealed class EntryGate(FhirPipeline pipeline, InteractionCall parent) : IEntryGate
    {
        public Task Admit(EntryRequest entry, CancellationToken ct) => pipeline.Before(Call(entry), ct);

        public Task Complete(EntryRequest entry, EntryOutcome outcome, CancellationToken ct) =>
            pipeline.After(Call(entry), outcome.Error is null ? new EntryResult(outcome) : null, outcome.Error, ct);

        private InteractionCall Call(EntryRequest entry) => new(parent.Context, new EntryCall(entry), parent) { Pipeline = pipeline };
    }
}

/// <summary>A bundle entry's outcome, as the audit and publish stages see it.</summary>
public sealed record EntryResult(EntryOutcome Outcome) : InteractionResult(Outcome.Kind);
