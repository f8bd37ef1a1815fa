namespace Interop.Tests.Infrastructure;

/// <summary>
/// A test over the shared Synthea bundles, read from INTEROP_SYNTHEA_DIR (./interop.sh test points it at
/// ../shared/data/synthea-r4 when that exists). Without the folder the test is reported as skipped, with
/// this reason, never as passed.
/// </summary>
public sealed class SyntheaFactAttribute : FactAttribute
{
    public const string Reason = "INTEROP_SYNTHEA_DIR is not set or holds no Synthea bundles (./interop.sh test sets it when ../shared/data/synthea-r4 exists)";

    public static string? Folder =>
        Environment.GetEnvironmentVariable("INTEROP_SYNTHEA_DIR") is { } dir && Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*.json").Any() ? dir : null;

    public SyntheaFactAttribute()
    {
        if (Folder is null) Skip = Reason;
    }
}
