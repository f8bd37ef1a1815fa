using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;

namespace Interop.Fhir.Storage;

/// <summary>
/// The change feed's subscription in Marten's async daemon. The daemon delivers events to it in sequence order up to
/// the high-water mark (every lower number committed or abandoned), and records its progress; that recorded position
/// is the feed's readable end. In-process subscribers (FHIR Subscriptions, a later issue) attach here.
/// </summary>
public sealed class ChangeSubscription : SubscriptionBase
{
    public const string FeedName = "InteropChanges";

    public ChangeSubscription()
    {
        Name = FeedName;
    }

    public override Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken ct) =>
        Task.FromResult<IChangeListener>(NoChanges.Instance);

    private sealed class NoChanges : IChangeListener
    {
        public static readonly NoChanges Instance = new();
        public Task AfterCommitAsync(IDocumentSession session, Marten.Services.IChangeSet commit, CancellationToken token) => Task.CompletedTask;
        public Task BeforeCommitAsync(IDocumentSession session, Marten.Services.IChangeSet commit, CancellationToken token) => Task.CompletedTask;
    }
}
