# kubevigil: one image for every role. Config at /etc/kubevigil/config.yaml, state under /var/lib/kubevigil.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kubevigil ./kubevigil
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin kubevigil \
 && mkdir -p /etc/kubevigil /var/lib/kubevigil \
 && chown 10001:10001 /var/lib/kubevigil
ENV KUBEVIGIL_CONFIG=/etc/kubevigil/config.yaml \
    KUBEVIGIL_STATE_DIR=/var/lib/kubevigil \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/kubevigil
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["kubevigil"]
CMD ["run", "--config", "/etc/kubevigil/config.yaml"]
