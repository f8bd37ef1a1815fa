using System.Text.RegularExpressions;

namespace Interop.Tests.Pages;

public static partial class RefusedPages
{
    /// <summary>
    /// No console errors but chromium's note of a page answered with a 4xx: a page showing the API's refusal (or a
    /// bad input) answers with that status, which chromium logs as a failed resource — not a script error.
    /// </summary>
    public static void AssertOnlyRefusedDocuments(this Browse tab)
    {
        var other = tab.Errors.Where(e => !Status().IsMatch(e)).ToList();
        Assert.True(other.Count == 0, "console errors: " + string.Join("\n", other));
    }

    [GeneratedRegex(@"^Failed to load resource: the server responded with a status of 4\d\d")]
    private static partial Regex Status();
}
