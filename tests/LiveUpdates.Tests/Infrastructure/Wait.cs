using System.Diagnostics;

namespace LiveUpdates.Tests.Infrastructure;

internal static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }

    public static async Task<T> ForAsync<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Timed out after {(timeout ?? Default).TotalSeconds:0.#} s waiting for: {what}");
            throw;
        }
    }

    public static async Task ForAsync(Task task, string what, TimeSpan? timeout = null)
    {
        try
        {
            await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Timed out after {(timeout ?? Default).TotalSeconds:0.#} s waiting for: {what}");
            throw;
        }
    }
}
