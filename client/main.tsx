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
  },
});

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={queryClient}>
    <RouterProvider>
      <App />
    </RouterProvider>
  </QueryClientProvider>,
);
