# kubehooks hook server: slim, non-root, gunicorn.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hooks ./hooks
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin kubehooks
USER 10001:10001
EXPOSE 8080
# Plain HTTP by default; with TLS configured the same probe speaks HTTPS to the same port.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["python", "-c", "import os,ssl,sys,urllib.request as u; p=os.environ.get('KUBEHOOKS_PORT','8080'); c=ssl._create_unverified_context(); ok=lambda s: u.urlopen(s+'://127.0.0.1:'+p+'/healthz', timeout=2, context=c).status == 200\ntry: sys.exit(0 if ok('http') else 1)\nexcept Exception: sys.exit(0 if ok('https') else 1)"]
ENTRYPOINT ["kubehooks"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
