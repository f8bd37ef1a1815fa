namespace Interop.Fhir.Subscriptions;

/// <summary>Subscription settings, read from the "Subscriptions" configuration section.</summary>
public sealed class SubscriptionOptions
{
    /// <summary>Run the dispatcher on this server (one server of those sharing a database is its leader at a time).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>How often the change feed is read for new changes, in milliseconds.</summary>
    public int PollMilliseconds { get; set; } = 200;
    /// <summary>How long one rest-hook POST may take before it counts as failed.</summary>
    public int TimeoutSeconds { get; set; } = 5;
    /// <summary>Attempts per notification before it is given up (marked failed in subscription_delivery).</summary>
    public int MaxAttempts { get; set; } = 8;
    /// <summary>The wait before the second attempt; it doubles with each further one, up to <see cref="MaxBackoffSeconds"/>.</summary>
    public double BackoffSeconds { get; set; } = 1;
    public double MaxBackoffSeconds { get; set; } = 300;
    /// <summary>After this many failed attempts in a row the Subscription's status becomes error (with the reason in Subscription.error).</summary>
    public int ErrorAfterFailures { get; set; } = 2;
    /// <summary>How long a given-up notification stays in subscription_delivery (for its Subscription's error and for inspection) before it is purged.</summary>
    public double FailedRetentionDays { get; set; } = 7;
    /// <summary>
    /// Hosts rest-hook endpoints may name besides localhost; empty: any host over https. Plain http is accepted only
    /// for localhost, 127.0.0.1 and ::1.
    /// </summary>
    public string[] AllowedHosts { get; set; } = [];

    /// <summary>The wait after the <paramref name="attempts"/>th failed attempt.</summary>
    public TimeSpan Backoff(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoffSeconds, BackoffSeconds * Math.Pow(2, Math.Max(0, attempts - 1))));
}
