using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Interop.Tests.Pages;

/// <summary>One browser tab of a page test: its console errors, sign-in, screenshots and the accessibility check.</summary>
public sealed class Browse : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    public IPage Page { get; }
    public PagesFixture Fixture { get; }
    /// <summary>Console errors and uncaught exceptions of the page, in order.</summary>
    public List<string> Errors { get; } = [];

    private Browse(PagesFixture fixture, IBrowserContext context, IPage page)
    {
        Fixture = fixture;
        _context = context;
        Page = page;
        page.Console += (_, m) => { if (m.Type == "error") Errors.Add(m.Text); };
        page.PageError += (_, e) => Errors.Add(e);
    }

    /// <param name="locale">The browser's language: "en-US", or "zh-CN" for the Chinese pages.</param>
    /// <param name="phone">A phone-sized window (390 × 844) instead of a desktop one.</param>
    public static async Task<Browse> Open(PagesFixture fixture, string locale = "en-US", bool phone = false)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Root,
            Locale = locale,
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = locale },
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
        });
        // Generous: a page that makes many API calls (the dashboard: 66) renders slowly while the rest of the suite runs beside it.
        context.SetDefaultTimeout(60_000);
        return new Browse(fixture, context, await context.NewPageAsync());
    }

    /// <summary>Opens <paramref name="path"/>; at the authorisation server's login form, signs in as the seeded user, and comes back.</summary>
    public async Task SignIn(string path, string username, string? password = null)
    {
        await Page.GotoAsync(path);
        await Page.WaitForSelectorAsync("input[name=username]");
        await Page.FillAsync("input[name=username]", username);
        await Page.FillAsync("input[name=password]", password ?? PagesFixture.Password(username));
        await Page.ClickAsync("button[type=submit]");
        await WaitForAddress(url => !url.Contains("/auth/authorize"), "still at the authorisation server");
        // The page is server-rendered: its parsed document holds what the tests read next. Asked of the document, not
        // through Playwright's lifecycle events (the wait for one of those is what hung), and polled from here: the
        // pages' content security policy refuses the string evaluation WaitForFunctionAsync runs inside the page.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await Page.EvaluateAsync<string>("document.readyState") == "loading")
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"{Page.Url} is still loading");
            await Task.Delay(50);
        }
    }

    // The address is enough (what a test needs of the page is waited for next), and it is polled: WaitForURLAsync
    // timed out in full runs while the page already stood at the address, once at the authorisation page (the
    // navigation event was missed) and twice back at the page (waiting for a load event that came late or not at all
    // under load, after the network had gone idle).
    /// <summary>Waits until the tab's address matches; fails with where it stands and what it shows.</summary>
    public async Task<string> WaitForAddress(Func<string, bool> matches, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!matches(Page.Url))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{what}: at {Page.Url}: {await Page.InnerTextAsync("body")} {string.Join(" ", Errors)}");
            await Task.Delay(100);
        }
        return Page.Url;
    }

    /// <summary>Saves a full-page screenshot as tests/artifacts/screenshots/{name}.png (git-ignored).</summary>
    public async Task Screenshot(string name)
    {
        var dir = Path.Combine(Artifacts(), "screenshots");
        Directory.CreateDirectory(dir);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name + ".png"), FullPage = true });
    }

    /// <summary>axe-core's WCAG 2 A/AA rules: no serious or critical violation (labels, names, contrast, lang, landmarks).</summary>
    public async Task AssertAccessible()
    {
        var result = await Page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa"] },
        });
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => string.Join(" ", n.Target)))}").ToList();
        Assert.True(bad.Count == 0, "accessibility: " + string.Join("\n", bad));
    }

    public void AssertNoConsoleErrors() => AssertNoConsoleErrorsBut();

    /// <summary>
    /// No console errors but chromium's note of a document answered with one of <paramref name="refusedStatuses"/>: a page
    /// showing the API's refusal (or a bad input) answers with that status, which chromium logs as a failed resource.
    /// </summary>
    public void AssertNoConsoleErrorsBut(params int[] refusedStatuses)
    {
        var expected = refusedStatuses.Select(s => $"Failed to load resource: the server responded with a status of {s} ").ToList();
        var other = Errors.Where(e => !expected.Any(e.StartsWith)).ToList();
        Assert.True(other.Count == 0, "console errors: " + string.Join("\n", other));
    }

    /// <summary>Tab from the top: the keyboard reaches <paramref name="selector"/> within <paramref name="presses"/> presses.</summary>
    public async Task AssertKeyboardReaches(string selector, int presses = 40)
    {
        await Page.Locator("body").FocusAsync();
        for (var i = 0; i < presses; i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            if (await Page.EvaluateAsync<bool>("s => document.activeElement && document.activeElement.matches(s)", selector)) return;
        }
        Assert.Fail($"{selector} is not reachable with the keyboard within {presses} Tab presses");
    }

    public static string Artifacts()
    {
        if (Environment.GetEnvironmentVariable("INTEROP_ARTIFACTS") is { Length: > 0 } set) return set;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Interop.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "tests", "artifacts");
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
