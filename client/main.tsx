import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api.ts';
import { App } from './app.tsx';
import { RouterProvider } from './router.tsx';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers are final (not found, forbidden, signed out); a 503 (read model catching up) is retried.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 5,
      retryDelay: 500,
      refetchOnWindowFocus: true,
      staleTime: 5_000,
    },
    // A change runs now or fails now: never held while offline and sent later on reconnect (api.ts refuses it offline).
    mutations: { networkMode: 'always' },
  },
});

// Installable on a phone (CONTRACT §10): the worker keeps the app shell for opening offline (client/service-worker.ts).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((error: unknown) => {
    console.warn('the service worker was not registered; the app still works online', error);
  });
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={queryClient}>
    <RouterProvider>
      <App />
    </RouterProvider>
  </QueryClientProvider>,
);
