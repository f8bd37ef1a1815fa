namespace Interop.Fhir.Storage;

/// <summary>
/// Migration 8: the subscription dispatcher's state. <c>subscription_cursor</c> holds how far the change feed has been
/// matched (one row per dispatcher; advanced in the same transaction as the deliveries it queues), and
/// <c>subscription_delivery</c> the notifications still to send to rest-hook endpoints, with their attempts and when the
/// next is due. A delivered notification's row is deleted; one that failed every attempt stays, marked failed, for Subscriptions:FailedRetentionDays.
/// </summary>
public static class SubscriptionSchema
{
    private const string S = StorageSetup.Schema;

    public const string Ddl = $"""
        create table if not exists {S}.subscription_cursor (name text primary key, position bigint not null);
        create table if not exists {S}.subscription_delivery (
            id bigserial primary key,
            subscription_id text not null,
            sequence bigint not null,
            resource_key text not null,
            payload text,
            attempts int not null default 0,
            due timestamptz not null default now(),
            failed boolean not null default false,
            last_error text,
            created timestamptz not null default now(),
            unique (subscription_id, sequence));
        create index if not exists subscription_delivery_due on {S}.subscription_delivery (due) where not failed;
        """;
}
