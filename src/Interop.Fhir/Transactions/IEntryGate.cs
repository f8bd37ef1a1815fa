namespace Interop.Fhir.Transactions;

/// <summary>
/// Where a bundle's entries meet the interaction pipeline: each entry is admitted (authorised, validated)
/// before its transaction runs, and completed (audited, published) with its outcome afterwards.
/// </summary>
public interface IEntryGate
{
    Task Admit(EntryRequest entry, CancellationToken ct);
    Task Complete(EntryRequest entry, EntryOutcome outcome, CancellationToken ct);

    /// <summary>For a single interaction that passed the pipeline itself (a conditional create, update, delete).</summary>
    public static readonly IEntryGate Passed = new PassedGate();

    private sealed class PassedGate : IEntryGate
    {
        public Task Admit(EntryRequest entry, CancellationToken ct) => Task.CompletedTask;
        public Task Complete(EntryRequest entry, EntryOutcome outcome, CancellationToken ct) => Task.CompletedTask;
    }
}
